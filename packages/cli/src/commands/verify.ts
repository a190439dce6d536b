/** `replic verify <db>`: integrity_check, table contract, T consistent with T_patches. */
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson } from "../output.js";
import { countBar } from "../progress-bar.js";
import { verifyDatabase } from "../verify-database.js";

export function verifyCommand(program: Command): void {
  program
    .command("verify")
    .description("check integrity, the table contract, and that every row equals the merge of its patches")
    .argument("<db>", "SQLite database file")
    .option("--json", "print the report as JSON")
    .action(async (path: string, opts: { json?: boolean }) => {
      const db = await openExisting(path);
      let bar: ReturnType<typeof countBar> | undefined;
      let current = "";
      try {
        const v = verifyDatabase(db.driver, {
          rows: (table, done) => {
            if (table !== current) {
              bar?.stop();
              const rows = Number(db.driver.prepare(`SELECT count(*) FROM "${table.replace(/"/g, '""')}"`).get([])![0]);
              bar = countBar(!opts.json, rows, `verify ${table}`);
              current = table;
            }
            bar!.update(done);
          },
        });
        bar?.stop();
        if (opts.json) printJson(v);
        else {
          process.stdout.write(`integrity  ${v.integrity.slice(0, 3).join("; ")}\n`);
          process.stdout.write(`contract   ${v.contract}\n`);
          for (const t of v.tables) {
            process.stdout.write(
              `table ${t.table}: ${t.rows} rows, ${t.patches} patches, ${t.checkedRows} checked, ${t.unverifiableRows} without patches, ` +
                `${t.mismatchedRows} mismatched, ${t.missingRows} missing${t.examples.length ? ` (e.g. ${t.examples.join(", ")})` : ""}\n`,
            );
          }
        }
        if (!v.ok) {
          const why = v.integrity[0] !== "ok" ? "integrity_check failed" : v.contract !== "ok" ? `contract: ${v.contract}` : "rows differ from their patches";
          throw new CliError("VERIFY_FAILED", `${path}: ${why}`);
        }
      } finally {
        bar?.stop();
        db.close();
      }
    });
}
