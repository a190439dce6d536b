/** `replic init-table <db> <table> [--apply]`: the T_patches DDL for an existing table. */
import type { Command } from "commander";
import { patchesDdl } from "@replic/core";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson } from "../output.js";

export function initTableCommand(program: Command): void {
  program
    .command("init-table")
    .description("print (or --apply) the <table>_patches DDL and indexes for an existing table")
    .argument("<db>", "SQLite database file")
    .argument("<table>", "table to replicate (needs a primary key)")
    .option("--apply", "create the table and indexes in the database")
    .option("--json", "print { table, ddl, applied } as JSON")
    .action(async (path: string, table: string, opts: { apply?: boolean; json?: boolean }) => {
      const db = await openExisting(path);
      try {
        const ddl = patchesDdl(db.driver, table);
        if (opts.apply) {
          const exists = db.driver.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get([`${table}_patches`]);
          if (exists) throw new CliError("EXISTS", `${table}_patches already exists in ${path}`);
          db.driver.exec(`BEGIN; ${ddl} COMMIT;`);
        }
        if (opts.json) printJson({ table, ddl, applied: Boolean(opts.apply) });
        else {
          process.stdout.write(ddl + "\n");
          if (opts.apply) process.stderr.write(`applied to ${path}\n`);
        }
      } finally {
        db.close();
      }
    });
}
