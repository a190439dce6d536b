/** The `replic` program: commander wiring, one-line errors, exit codes (0 only on success). */
import { Command, CommanderError } from "commander";
import { initTableCommand } from "./commands/init-table.js";
import { metricsCommand } from "./commands/metrics.js";
import { restoreCommand } from "./commands/restore.js";
import { snapshotCommand } from "./commands/snapshot.js";
import { statusCommand } from "./commands/status.js";
import { verifyCommand } from "./commands/verify.js";
import { errorLine } from "./cli-error.js";

export const VERSION = "0.1.0";

export function buildProgram(): Command {
  const program = new Command("replic")
    .description("operate replic databases: table DDL, status, S3 snapshots and restore, metrics, verify")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const add of [initTableCommand, statusCommand, snapshotCommand, restoreCommand, metricsCommand, verifyCommand]) add(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help / version).
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(errorLine(err) + "\n");
    return 1;
  }
}
