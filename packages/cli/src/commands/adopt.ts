/**
 * `replic adopt <db> <table>|--all`: the rows already in replicated tables that have no patch
 * yet become patches of this database's replica (replica.adopt), in batches; peers receive them
 * when the application's replica next talks to them. Run it while the application is stopped:
 * a replica opened here takes the database over from a running one (docs/adopting.md).
 */
import type { Command } from "commander";
import { createReplica } from "@replic/core";
import { appTables } from "../app-tables.js";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson } from "../output.js";
import { countBar } from "../progress-bar.js";

export function adoptCommand(program: Command): void {
  program
    .command("adopt")
    .description("turn the rows already in a replicated table (or in every one, --all) into patches, so peers receive them")
    .argument("<db>", "SQLite database file")
    .argument("[table]", "replicated table (it has a <table>_patches)")
    .option("--all", "every replicated table, parents before children")
    .option("--batch-size <rows>", "rows per batch (one transaction each)", "1000")
    .option("--json", "print { tables: [{ table, adopted }], adopted } as JSON")
    .action(async (path: string, table: string | undefined, opts: { all?: boolean; batchSize: string; json?: boolean }) => {
      if ((table === undefined) === !opts.all) throw new CliError("USAGE", "give one <table> or --all");
      const batchSize = Number(opts.batchSize);
      const db = await openExisting(path);
      try {
        const replica = createReplica(db.driver, { heartbeatMs: 0 });
        try {
          const replicated = new Set(replica.status().tables);
          const tables = opts.all ? appTables(db.driver).filter((t) => replicated.has(t)) : [table!];
          const done: { table: string; adopted: number }[] = [];
          for (const t of tables) {
            let bar: ReturnType<typeof countBar> | undefined;
            const adopted = replica.adopt(t, {
              batchSize,
              onProgress: (p) => {
                bar ??= countBar(!opts.json, p.total, `${t} rows`);
                bar.update(p.adopted);
              },
            });
            bar?.stop();
            done.push({ table: t, adopted });
            if (!opts.json) process.stdout.write(`${t}: ${adopted} row(s) adopted\n`);
          }
          const adopted = done.reduce((n, d) => n + d.adopted, 0);
          if (opts.json) printJson({ tables: done, adopted });
          else if (tables.length > 1) process.stdout.write(`total: ${adopted} row(s) adopted\n`);
        } finally {
          replica.close();
        }
      } finally {
        db.close();
      }
    });
}
