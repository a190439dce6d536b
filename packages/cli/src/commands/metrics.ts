/** `replic metrics <db>`: the Prometheus text of a replica opened on the database. */
import type { Command } from "commander";
import { createReplica } from "@replic/core";
import { exposition } from "@replic/metrics-http";
import { isReplicDatabase } from "@replic/snapshot-s3";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";

export function metricsCommand(program: Command): void {
  program
    .command("metrics")
    .description("print the Prometheus text exposition of the database's replica state")
    .argument("<db>", "SQLite database file")
    .action(async (path: string) => {
      const db = await openExisting(path);
      try {
        if (!isReplicDatabase(db.driver)) throw new CliError("NOT_REPLIC", `${path} is not a replic database`);
        const replica = createReplica(db.driver, { heartbeatMs: 0 });
        try {
          process.stdout.write(exposition(replica, { driver: db.driver }));
        } finally {
          replica.close();
        }
      } finally {
        db.close();
      }
    });
}
