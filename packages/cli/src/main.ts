/** The `replic` program: commander wiring, one-line errors, exit codes (0 only on success). */
import { Command, CommanderError } from "commander";
import { adoptCommand } from "./commands/adopt.js";
import { initTableCommand } from "./commands/init-table.js";
import { metricsCommand } from "./commands/metrics.js";
import { restoreCommand } from "./commands/restore.js";
import { snapshotCommand } from "./commands/snapshot.js";
import { statusCommand } from "./commands/status.js";
import { verifyCommand } from "./commands/verify.js";
import { CliError, errorJson, errorLine } from "./cli-error.js";

export const VERSION = "0.1.0";

export function buildProgram(): Command {
  const program = new Command("replic")
    .description("operate replic databases: table DDL, adopting existing rows, status, S3 snapshots and restore, metrics, verify")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const add of [initTableCommand, adoptCommand, statusCommand, snapshotCommand, restoreCommand, metricsCommand, verifyCommand]) add(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/**
 * Runs the CLI; resolves to the exit code. With `--json` anywhere on the line, every error —
 * usage errors included — is one JSON object on stderr instead of text (see README.md).
 */
export async function main(argv: string[]): Promise<number> {
  const json = argv.slice(2).includes("--json");
  const program = buildProgram();
  if (json) {
    // Commander's own error text would not parse: it is replaced by the JSON line below.
    for (const c of [program, ...program.commands]) c.configureOutput({ outputError: () => {}, writeErr: () => {} });
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; anything else is a usage error (commander printed it, unless --json).
      if (err.exitCode === 0) return 0;
      if (json) process.stderr.write(errorJson({ code: "USAGE", message: err.message.replace(/^error: /, "") }) + "\n");
      return 2;
    }
    process.stderr.write((json ? errorJson(err) : errorLine(err)) + "\n");
    // A command's own usage check (one <table> or --all) exits as commander's do.
    return err instanceof CliError && err.code === "USAGE" ? 2 : 1;
  }
}
