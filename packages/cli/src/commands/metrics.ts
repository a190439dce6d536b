/** `replic metrics <db> [--json]`: the Prometheus text of a replica opened on the database. */
import type { Command } from "commander";
import { createReplica } from "@replic/core";
import { exposition } from "@replic/metrics-http";
import { isReplicDatabase } from "@replic/snapshot-s3";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson } from "../output.js";

export function metricsCommand(program: Command): void {
  program
    .command("metrics")
    .description("print the Prometheus text exposition of the database's replica state")
    .argument("<db>", "SQLite database file")
    .option("--json", 'print { path, metrics } as JSON ("metrics": the same Prometheus text)')
    .action(async (path: string, opts: { json?: boolean }) => {
      const db = await openExisting(path);
      try {
        if (!isReplicDatabase(db.driver)) throw new CliError("NOT_REPLIC", `${path} is not a replic database`);
        const replica = createReplica(db.driver, { heartbeatMs: 0 });
        try {
          const text = exposition(replica, { driver: db.driver });
          if (opts.json) printJson({ path, metrics: text });
          else process.stdout.write(text);
        } finally {
          replica.close();
        }
      } finally {
        db.close();
      }
    });
}
