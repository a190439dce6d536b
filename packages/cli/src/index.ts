/** @replic/cli: the `replic` command, and its building blocks for programmatic use. */
export { main, buildProgram, VERSION } from "./main.js";
export { verifyDatabase, type Verification } from "./verify-database.js";
export { verifyTable, type TableVerification } from "./verify-table.js";
export { CliError, errorLine, errorJson } from "./cli-error.js";
