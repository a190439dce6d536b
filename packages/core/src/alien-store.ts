/**
 * `_replic_alien`: alien patches (alien-patch.ts), each stored whole as a one-patch message with
 * the names of its columns unknown here (`cols`, U+001F-separated; every column when the table
 * is unknown). A kept patch counts as held for heads, is served and relayed from these bytes,
 * and is collected by retention like any patch.
 */
import { decodeAlien, encodeAlien, type AlienPatch } from "./alien-patch.js";
import type { SqliteDriver, SqliteStatement } from "./driver.js";
import { NAME_SEPARATOR } from "./null-store.js";

export const ALIEN_TABLE = "_replic_alien";

export interface AlienRow {
  peerId: number;
  seq: number;
  table: string;
  /** Column names unknown here when it was last looked at. */
  alienColumns: string[];
  bytes: Uint8Array;
}

export interface AlienCount {
  table: string;
  /** Patches kept for this table. */
  patches: number;
  /** Per column unknown here, the kept patches that set it. */
  columns: Record<string, number>;
}

export class AlienStore {
  /** Patches kept now. */
  count: number;
  private readonly insert: SqliteStatement;
  private readonly stamp: SqliteStatement;
  private readonly above: SqliteStatement;
  private readonly range: SqliteStatement;
  private readonly lastBefore: SqliteStatement;
  private readonly purge: SqliteStatement;
  private readonly remove: SqliteStatement;
  private readonly setCols: SqliteStatement;

  constructor(private readonly driver: SqliteDriver) {
    driver.exec(`CREATE TABLE IF NOT EXISTS ${ALIEN_TABLE} (
      peerId INTEGER NOT NULL, seq INTEGER NOT NULL, patchedAt INTEGER NOT NULL, tbl TEXT NOT NULL, cols TEXT NOT NULL,
      bytes BLOB NOT NULL, PRIMARY KEY (peerId, seq)) WITHOUT ROWID`);
    const t = ALIEN_TABLE;
    this.insert = driver.prepare(`INSERT OR IGNORE INTO ${t} (peerId, seq, patchedAt, tbl, cols, bytes) VALUES (?, ?, ?, ?, ?, ?)`);
    this.stamp = driver.prepare(`SELECT patchedAt FROM ${t} WHERE peerId = ? AND seq = ?`);
    this.above = driver.prepare(`SELECT seq FROM ${t} WHERE peerId = ? AND seq > ?`);
    this.range = driver.prepare(`SELECT bytes FROM ${t} WHERE peerId = ? AND seq BETWEEN ? AND ? ORDER BY seq`);
    this.lastBefore = driver.prepare(`SELECT max(seq) FROM ${t} WHERE peerId = ? AND patchedAt < ?`);
    this.purge = driver.prepare(`DELETE FROM ${t} WHERE peerId = ? AND seq <= ?`);
    this.remove = driver.prepare(`DELETE FROM ${t} WHERE peerId = ? AND seq = ?`);
    this.setCols = driver.prepare(`UPDATE ${t} SET cols = ? WHERE peerId = ? AND seq = ?`);
    this.count = 0;
    this.recount();
  }

  /** Keeps a patch whole; false when it was kept already. */
  keep(a: AlienPatch, alienColumns: readonly string[], bytes = encodeAlien(a)): boolean {
    if (this.insert.run([a.peerId, a.seq, a.patchedAt, a.table, alienColumns.join(NAME_SEPARATOR), bytes]) === 0) return false;
    this.count++;
    return true;
  }

  stampOf(peerId: number, seq: number): number | undefined {
    if (this.count === 0) return undefined;
    const row = this.stamp.get([peerId, seq]);
    return row ? Number(row[0]) : undefined;
  }

  sequencesAbove(peerId: number, seq: number): number[] {
    if (this.count === 0) return [];
    return this.above.all([peerId, seq]).map((r) => Number(r[0]));
  }

  /** The kept patches of one origin with sequence in [from, to], decoded. */
  readRange(peerId: number, from: number, to: number): AlienPatch[] {
    if (this.count === 0) return [];
    return this.range.all([peerId, from, to]).map((r) => decodeAlien(r[0] as Uint8Array));
  }

  lastSeqBefore(peerId: number, ts: number): number {
    if (this.count === 0) return 0;
    const row = this.lastBefore.get([peerId, ts]);
    return row && row[0] !== null ? Number(row[0]) : 0;
  }

  deleteThrough(peerId: number, seq: number): number {
    if (this.count === 0) return 0;
    const n = this.purge.run([peerId, seq]);
    this.count -= n;
    return n;
  }

  /** Every kept patch (a migration looks at all of them). */
  rows(): AlienRow[] {
    if (this.count === 0) return [];
    return this.driver.prepare(`SELECT peerId, seq, tbl, cols, bytes FROM ${ALIEN_TABLE}`).all([]).map((r) => ({
      peerId: Number(r[0]),
      seq: Number(r[1]),
      table: String(r[2]),
      alienColumns: r[3] === "" ? [] : String(r[3]).split(NAME_SEPARATOR),
      bytes: r[4] as Uint8Array,
    }));
  }

  /** After a migration: what is still unknown of a kept patch; nothing unknown removes it. */
  update(peerId: number, seq: number, alienColumns: readonly string[]): void {
    if (alienColumns.length > 0) this.setCols.run([alienColumns.join(NAME_SEPARATOR), peerId, seq]);
    else this.count -= this.remove.run([peerId, seq]);
  }

  /** Kept patches per table and per unknown column (for status()). */
  counts(): AlienCount[] {
    if (this.count === 0) return [];
    const byTable = new Map<string, AlienCount>();
    for (const r of this.driver.prepare(`SELECT tbl, cols, count(*) FROM ${ALIEN_TABLE} GROUP BY tbl, cols`).all([])) {
      const table = String(r[0]);
      const n = Number(r[2]);
      let c = byTable.get(table);
      if (!c) byTable.set(table, (c = { table, patches: 0, columns: {} }));
      c.patches += n;
      for (const col of String(r[1]).split(NAME_SEPARATOR)) if (col !== "") c.columns[col] = (c.columns[col] ?? 0) + n;
    }
    return [...byTable.values()].sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  }

  /** Re-reads the count (after a rollback). */
  recount(): void {
    this.count = Number(this.driver.prepare(`SELECT count(*) FROM ${ALIEN_TABLE}`).get([])![0]);
  }
}
