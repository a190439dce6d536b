/** `replic init-table <db> <table>|--all [--apply]`: the T_patches DDL for existing tables. */
import type { Command } from "commander";
import { patchesDdl } from "@replic/core";
import { appTables } from "../app-tables.js";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson } from "../output.js";

export function initTableCommand(program: Command): void {
  program
    .command("init-table")
    .description("print (or --apply) the <table>_patches DDL and indexes for an existing table, or for every table (--all)")
    .argument("<db>", "SQLite database file")
    .argument("[table]", "table to replicate (needs a primary key)")
    .option("--all", "every application table that has no <table>_patches yet (all must have a primary key)")
    .option("--apply", "create the tables and indexes in the database (one transaction)")
    .option("--json", "print { table, ddl, applied } (with --all: { tables: [{ table, ddl }], applied }) as JSON")
    .action(async (path: string, table: string | undefined, opts: { all?: boolean; apply?: boolean; json?: boolean }) => {
      if ((table === undefined) === !opts.all) throw new CliError("USAGE", "give one <table> or --all");
      const db = await openExisting(path);
      try {
        const exists = (t: string) => Boolean(db.driver.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get([`${t}_patches`]));
        // --all: the tables that do not replicate yet; every one must pass the contract, or nothing is printed or applied.
        const tables = opts.all ? appTables(db.driver).filter((t) => !exists(t)) : [table!];
        const ddls = tables.map((t) => ({ table: t, ddl: patchesDdl(db.driver, t) }));
        if (opts.apply) {
          if (!opts.all && exists(table!)) throw new CliError("EXISTS", `${table}_patches already exists in ${path}`);
          db.driver.exec(`BEGIN; ${ddls.map((d) => d.ddl).join("\n")} COMMIT;`);
        }
        if (opts.json) {
          printJson(opts.all ? { tables: ddls, applied: Boolean(opts.apply) } : { table, ddl: ddls[0]!.ddl, applied: Boolean(opts.apply) });
        } else {
          for (const d of ddls) process.stdout.write(d.ddl + "\n");
          if (opts.apply) process.stderr.write(`applied to ${path}${opts.all ? ` (${ddls.length} table(s))` : ""}\n`);
        }
      } finally {
        db.close();
      }
    });
}
