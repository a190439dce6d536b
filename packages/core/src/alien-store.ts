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

const t = ALIEN_TABLE;
const SQL = {
  insert: `INSERT OR IGNORE INTO ${t} (peerId, seq, patchedAt, tbl, cols, bytes) VALUES (?, ?, ?, ?, ?, ?)`,
  stamp: `SELECT patchedAt FROM ${t} WHERE peerId = ? AND seq = ?`,
  above: `SELECT seq FROM ${t} WHERE peerId = ? AND seq > ?`,
  next: `SELECT min(seq) FROM ${t} WHERE peerId = ? AND seq > ?`,
  range: `SELECT bytes FROM ${t} WHERE peerId = ? AND seq BETWEEN ? AND ? ORDER BY seq`,
  firstStamped: `SELECT seq FROM ${t} WHERE peerId = ? AND seq >= ? AND patchedAt >= ? ORDER BY seq LIMIT 1`,
  purge: `DELETE FROM ${t} WHERE peerId = ? AND seq <= ?`,
  remove: `DELETE FROM ${t} WHERE peerId = ? AND seq = ?`,
  setCols: `UPDATE ${t} SET cols = ? WHERE peerId = ? AND seq = ?`,
  // One row at most: whether anything is kept, without counting.
  any: `SELECT 1 FROM ${t} LIMIT 1`,
} as const;

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
  /**
   * False only when the table is known to be empty (the usual case): every read then skips
   * SQLite. Not a count, so that opening never scans the table; true after a delete may be stale
   * (the reads then find nothing), never the other way round.
   */
  private any = false;
  /** Prepared on first use: most replicas never keep an alien patch, and an open prepares less. */
  private readonly stmts = new Map<string, SqliteStatement>();

  constructor(private readonly driver: SqliteDriver) {
    driver.exec(`CREATE TABLE IF NOT EXISTS ${ALIEN_TABLE} (
      peerId INTEGER NOT NULL, seq INTEGER NOT NULL, patchedAt INTEGER NOT NULL, tbl TEXT NOT NULL, cols TEXT NOT NULL,
      bytes BLOB NOT NULL, PRIMARY KEY (peerId, seq)) WITHOUT ROWID`);
    this.recount();
  }

  private st(sql: string): SqliteStatement {
    let s = this.stmts.get(sql);
    if (s === undefined) this.stmts.set(sql, (s = this.driver.prepare(sql)));
    return s;
  }

  /** Keeps a patch whole; false when it was kept already. */
  keep(a: AlienPatch, alienColumns: readonly string[], bytes = encodeAlien(a)): boolean {
    if (this.st(SQL.insert).run([a.peerId, a.seq, a.patchedAt, a.table, alienColumns.join(NAME_SEPARATOR), bytes]) === 0) return false;
    this.any = true;
    return true;
  }

  stampOf(peerId: number, seq: number): number | undefined {
    if (!this.any) return undefined;
    const row = this.st(SQL.stamp).get([peerId, seq]);
    return row ? Number(row[0]) : undefined;
  }

  sequencesAbove(peerId: number, seq: number): number[] {
    if (!this.any) return [];
    return this.st(SQL.above).all([peerId, seq]).map((r) => Number(r[0]));
  }

  /** The lowest kept sequence of this origin above `seq` (an index probe), or undefined. */
  nextAbove(peerId: number, seq: number): number | undefined {
    if (!this.any) return undefined;
    const row = this.st(SQL.next).get([peerId, seq]);
    return row && row[0] !== null ? Number(row[0]) : undefined;
  }

  /** The kept patches of one origin with sequence in [from, to], decoded. */
  readRange(peerId: number, from: number, to: number): AlienPatch[] {
    if (!this.any) return [];
    return this.st(SQL.range).all([peerId, from, to]).map((r) => decodeAlien(r[0] as Uint8Array));
  }

  /** The lowest kept sequence of one origin from `from` on stamped at or after `ts`, or undefined. */
  firstStampedFrom(peerId: number, from: number, ts: number): number | undefined {
    if (!this.any) return undefined;
    const row = this.st(SQL.firstStamped).get([peerId, from, ts]);
    return row ? Number(row[0]) : undefined;
  }

  deleteThrough(peerId: number, seq: number): number {
    if (!this.any) return 0;
    return this.st(SQL.purge).run([peerId, seq]);
  }

  /** Every kept patch (a migration looks at all of them). */
  rows(): AlienRow[] {
    if (!this.any) return [];
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
    if (alienColumns.length > 0) this.st(SQL.setCols).run([alienColumns.join(NAME_SEPARATOR), peerId, seq]);
    else this.st(SQL.remove).run([peerId, seq]);
  }

  /** Kept patches per table and per unknown column (for status()). */
  counts(): AlienCount[] {
    if (!this.any) return [];
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

  /** Re-reads whether anything is kept (at open, after a rollback): one index probe, not a count. */
  recount(): void {
    this.any = this.st(SQL.any).get([]) !== undefined;
  }
}
