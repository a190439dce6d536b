/** `replic verify <db>`: integrity_check, table contract, T consistent with T_patches. */
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson } from "../output.js";
import { countBar } from "../progress-bar.js";
import { verifyDatabase } from "../verify-database.js";
import { compareDatabases, type Comparison } from "../compare-databases.js";

export function verifyCommand(program: Command): void {
  program
    .command("verify")
    .description("check integrity, the table contract, and that every row equals the merge of its patches")
    .argument("<db>", "SQLite database file")
    .option("--against <other>", "compare with another replica's database file instead: rows that differ, table by table")
    .option("--table <name>", "with --against: only this replicated table")
    .option("--limit <n>", "with --against: most keys and key ranges listed per table", "20")
    .option("--json", "print the report as JSON")
    .action(async (path: string, opts: { json?: boolean; against?: string; table?: string; limit: string }) => {
      if (opts.against !== undefined) return against(path, opts.against, opts);
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

async function against(path: string, other: string, opts: { json?: boolean; table?: string; limit: string }): Promise<void> {
  const limit = Number(opts.limit);
  if (!Number.isSafeInteger(limit) || limit < 0) throw new CliError("INVALID_OPTION", `--limit must be a non-negative integer, got ${opts.limit}`);
  const db = await openExisting(path);
  let c: Comparison;
  try {
    c = compareDatabases(db.driver, other, { table: opts.table, limit });
  } finally {
    db.close();
  }
  if (opts.json) printJson(c);
  else {
    for (const t of c.tablesOnlyHere) process.stdout.write(`table ${t}: replicated in ${path} only\n`);
    for (const t of c.tablesOnlyThere) process.stdout.write(`table ${t}: replicated in ${other} only\n`);
    for (const t of c.tables) {
      process.stdout.write(
        `table ${t.table}: ${t.rowsHere} rows here, ${t.rowsThere} there; ${t.differing} differ (${t.changed} changed, ${t.onlyHere} only here, ${t.onlyThere} only there)\n`,
      );
      if (t.columnsOnlyHere.length + t.columnsOnlyThere.length > 0) {
        process.stdout.write(`  columns only here: ${t.columnsOnlyHere.join(", ") || "none"}; only there: ${t.columnsOnlyThere.join(", ") || "none"}\n`);
      }
      for (const r of t.ranges) process.stdout.write(`  ${r.rows === 1 ? r.from : `${r.from} .. ${r.to}`} (${r.rows} row${r.rows === 1 ? "" : "s"})\n`);
    }
  }
  if (!c.ok) throw new CliError("REPLICAS_DIFFER", `${path} and ${other} differ`);
}
