import { defineConfig } from "tsup";
import { tsupBase } from "../../tsup.base";

export default defineConfig({
  ...tsupBase,
  entry: ["src/index.ts", "src/bin.ts"],
  // The SQLite binding is picked at run time (Bun or Node); never bundle it.
  external: ["bun:sqlite", "better-sqlite3", "@replic/adapter-node", "@replic/adapter-bun"],
});
