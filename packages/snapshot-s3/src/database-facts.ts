/** Reads what a snapshot's manifest says about a replic database, from the database itself. */
import { createReplica, type SqliteDriver } from "@replic/core";
import { SnapshotError } from "./errors.js";
import type { ManifestHead } from "./manifest.js";

export interface DatabaseFacts {
  peerId: number;
  heads: ManifestHead[];
  schemaVersion: number;
  tables: string[];
}

export function hasTable(driver: SqliteDriver, name: string): boolean {
  return driver.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get([name]) !== undefined;
}

export function tableCount(driver: SqliteDriver): number {
  return Number(driver.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").get([])![0]);
}

/** True when a replica was ever opened on this database. */
export function isReplicDatabase(driver: SqliteDriver): boolean {
  return hasTable(driver, "_replic_state") && driver.prepare("SELECT 1 FROM _replic_state WHERE id = 1").get([]) !== undefined;
}

export function schemaVersion(driver: SqliteDriver): number {
  return hasTable(driver, "_replic_migrations") ? Number(driver.prepare("SELECT count(*) FROM _replic_migrations").get([])![0]) : 0;
}

/**
 * Opens a replica (no timers) on a private copy to read its status: peer id, heads of every
 * origin and replicated tables. Never call it on a live database that another replica writes.
 */
export function readFacts(driver: SqliteDriver): DatabaseFacts {
  if (!isReplicDatabase(driver)) throw new SnapshotError("SNAPSHOT_SOURCE", "not a replic database (no replica was ever opened on it)");
  const replica = createReplica(driver, { heartbeatMs: 0 });
  try {
    const s = replica.status();
    return {
      peerId: s.peerId,
      heads: s.origins.map((o) => ({ peerId: o.peerId, contiguous: o.contiguous, highest: o.highest })),
      schemaVersion: schemaVersion(driver),
      tables: [...s.tables],
    };
  } finally {
    replica.close();
  }
}
