/** `replic status <db>`: identity, origins and heads, staleness, size. */
import { statSync, existsSync } from "node:fs";
import type { Command } from "commander";
import { createReplica } from "@replic/core";
import { isMarkedStale, isReplicDatabase, schemaVersion, staleReason } from "@replic/snapshot-s3";
import { CliError } from "../cli-error.js";
import { openExisting } from "../open-db.js";
import { printJson, printPairs } from "../output.js";

export function statusCommand(program: Command): void {
  program
    .command("status")
    .description("peer id, replicated tables, per-origin heads and gaps, stale origins, file size")
    .argument("<db>", "SQLite database file")
    .option("--json", "print JSON")
    .action(async (path: string, opts: { json?: boolean }) => {
      const db = await openExisting(path);
      try {
        if (!isReplicDatabase(db.driver)) throw new CliError("NOT_REPLIC", `${path} is not a replic database (no replica was ever opened on it)`);
        const replica = createReplica(db.driver, { heartbeatMs: 0 });
        const s = replica.status();
        replica.close();
        const size = statSync(path).size;
        const wal = existsSync(path + "-wal") ? statSync(path + "-wal").size : 0;
        const patches: Record<string, number> = {};
        for (const t of s.tables) patches[t] = Number(db.driver.prepare(`SELECT count(*) FROM "${t.replace(/"/g, '""')}_patches"`).get([])![0]);
        const out = {
          path,
          sizeBytes: size,
          walBytes: wal,
          peerId: s.peerId,
          binding: s.binding,
          schemaVersion: schemaVersion(db.driver),
          tables: s.tables,
          patches,
          sequence: s.sequence,
          origins: s.origins,
          staleOrigins: s.staleOrigins,
          // Set by markStaleOnEvent when a running replica found itself stale: the next restore re-seeds it.
          staleMarker: isMarkedStale(path) ? (staleReason(path) ?? "stale") : null,
        };
        if (opts.json) return printJson(out);
        printPairs([
          ["database", `${path} (${size} bytes, WAL ${wal} bytes)`],
          ["peer id", s.peerId],
          ["binding", s.binding],
          ["schema", `${out.schemaVersion} migration(s)`],
          ["tables", s.tables.map((t) => `${t} (${patches[t]} patches)`).join(", ") || "none"],
          ["sequence", s.sequence],
          ["stale", out.staleMarker ? `marked stale (${out.staleMarker}): restore will re-seed it` : s.staleOrigins.length ? s.staleOrigins.join(", ") : "none"],
          ["origins", s.origins.length],
        ]);
        for (const o of s.origins) {
          process.stdout.write(`  peer ${o.peerId}: contiguous ${o.contiguous}, highest ${o.highest}, missing ${o.missing}${o.stale ? ", STALE" : ""}\n`);
        }
      } finally {
        db.close();
      }
    });
}
