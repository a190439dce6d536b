/**
 * Patches held back: a patch stamped further ahead of the local clock than the drift bound (a
 * device whose clock is years off) would win its cells until that time and hide every later
 * write. It is kept here, encoded as received, not merged and not counted as held; once the
 * local clock comes within the bound it is merged like any patch. Every replica does the same,
 * so all converge to the same rows. The hold is bounded (`maxHeldPatches`).
 */
import type { SqliteDriver } from "./driver.js";
import { StatementCache } from "./statement-cache.js";
import type { Origins } from "./origins.js";
import type { LocalPatch } from "./replicated-table.js";
import { PatchesEncoder } from "./wire/encoder.js";

export const HELD_TABLE = "_replic_held";

const INSERT = `INSERT OR IGNORE INTO ${HELD_TABLE} (peerId, seq, patchedAt, bytes) VALUES (?, ?, ?, ?)`;
const DUE = `SELECT peerId, seq, bytes FROM ${HELD_TABLE} WHERE patchedAt <= ? ORDER BY patchedAt LIMIT 5000`;
const REMOVE = `DELETE FROM ${HELD_TABLE} WHERE peerId = ? AND seq = ?`;
const REMOVE_VERSION = `DELETE FROM ${HELD_TABLE} WHERE peerId = ? AND seq = ? AND patchedAt = ?`;

export interface HeldRow {
  peerId: number;
  seq: number;
  bytes: Uint8Array;
}

export class HeldPatches {
  /** Patches held now (set by load(), which reads every held row anyway: no count at open). */
  count = 0;

  private readonly st: StatementCache;

  constructor(private readonly driver: SqliteDriver) {
    this.st = new StatementCache(driver);
    driver.exec(`CREATE TABLE IF NOT EXISTS ${HELD_TABLE} (
      peerId INTEGER NOT NULL, seq INTEGER NOT NULL, patchedAt INTEGER NOT NULL, bytes BLOB NOT NULL,
      PRIMARY KEY (peerId, seq)) WITHOUT ROWID`);
  }

  /** Marks every held sequence in its origin's state and counts them (at open). */
  load(origins: Origins): void {
    const rows = this.driver.prepare(`SELECT peerId, seq FROM ${HELD_TABLE}`).all([]);
    for (const r of rows) origins.get(Number(r[0])).held.add(Number(r[1]));
    this.count = rows.length;
  }

  /** Stores a patch as a one-patch message; false when it was held already. */
  hold(p: LocalPatch): boolean {
    const e = new PatchesEncoder(64);
    const ti = e.addTable(p.table.name, p.table.columnNames);
    e.add(ti, p.peerId, p.seq, p.patchedAt, p.cols, p.values);
    return this.holdBytes(p.peerId, p.seq, p.patchedAt, e.finish(p.group ? [p.group] : undefined));
  }

  /** Stores a patch already encoded as a one-patch message (an alien one, kept whole). */
  holdBytes(peerId: number, seq: number, patchedAt: number, bytes: Uint8Array): boolean {
    if (this.st.get(INSERT).run([peerId, seq, patchedAt, bytes]) === 0) return false;
    this.count++;
    return true;
  }

  /** Held patches stamped at or below `ts`, oldest first (at most 5000). */
  due(ts: number): HeldRow[] {
    if (this.count === 0) return [];
    return this.st.get(DUE).all([ts]).map((r) => ({ peerId: Number(r[0]), seq: Number(r[1]), bytes: r[2] as Uint8Array }));
  }

  release(peerId: number, seq: number): void {
    this.count -= this.st.get(REMOVE).run([peerId, seq]);
  }

  /** Ends the hold of `peerId.seq` when it holds the version stamped `patchedAt`; false otherwise. */
  releaseVersion(peerId: number, seq: number, patchedAt: number): boolean {
    const n = this.st.get(REMOVE_VERSION).run([peerId, seq, patchedAt]);
    this.count -= n;
    return n > 0;
  }
}
