/**
 * The merge rule of DESIGN section 3, per table: for each row and column the value of the
 * highest (patchedAt, peerId, sequenceId) patch that set it. `T_patches` is both the log and the
 * per-column version store: a patch that arrives in order (the usual case) is upserted straight
 * into `T`; one that arrives late asks the index which later patches of that row set which
 * columns, and writes only the columns it still wins.
 *
 * Absent and explicit-NULL columns both read back as NULL from `T_patches`, so explicit NULLs
 * are also listed in `_replic_nulls` (rare: un-deletes, cleared fields).
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { quoteId, type TableSchema } from "./schema.js";

export const NULLS_TABLE = "_replic_nulls";
const NAME_SEPARATOR = "\u001f";

/** A patch in engine form: column indexes into the local table, sorted, primary key included. */
export interface LocalPatch {
  table: TableMerger;
  peerId: number;
  seq: number;
  patchedAt: number;
  cols: number[];
  values: SqlValue[];
}

export function nullsTableDdl(): string {
  return `CREATE TABLE IF NOT EXISTS ${NULLS_TABLE} (
  peerId INTEGER NOT NULL, seq INTEGER NOT NULL, tbl TEXT NOT NULL, cols TEXT NOT NULL,
  PRIMARY KEY (peerId, seq)) WITHOUT ROWID`;
}

/** Statements shared by all tables for the explicit-NULL side table. */
export class NullStore {
  private readonly insert: SqliteStatement;
  private readonly lookup: SqliteStatement;
  private readonly purge: SqliteStatement;
  constructor(driver: SqliteDriver) {
    this.purge = driver.prepare(`DELETE FROM ${NULLS_TABLE} WHERE peerId = ? AND seq <= ?`);
    this.insert = driver.prepare(`INSERT OR REPLACE INTO ${NULLS_TABLE} (peerId, seq, tbl, cols) VALUES (?, ?, ?, ?)`);
    this.lookup = driver.prepare(`SELECT cols FROM ${NULLS_TABLE} WHERE peerId = ? AND seq = ?`);
  }
  record(p: LocalPatch): void {
    let names: string | undefined;
    const cols = p.table.schema.columns;
    for (let i = 0; i < p.cols.length; i++) {
      if (p.values[i] !== null) continue;
      const name = cols[p.cols[i]!]!.name;
      names = names === undefined ? name : names + NAME_SEPARATOR + name;
    }
    if (names !== undefined) this.insert.run([p.peerId, p.seq, p.table.schema.name, names]);
  }
  deleteThrough(peerId: number, seq: number): void {
    this.purge.run([peerId, seq]);
  }
  /** Names of the columns a stored patch set to NULL explicitly. */
  explicitNulls(peerId: number, seq: number): string[] {
    const row = this.lookup.get([peerId, seq]);
    return row ? String(row[0]).split(NAME_SEPARATOR) : [];
  }
}

export class TableMerger {
  readonly schema: TableSchema;
  private readonly driver: SqliteDriver;
  private readonly nulls: NullStore;
  private readonly width: number;
  private readonly insertPatchStmt: SqliteStatement;
  private readonly insertPatchIgnoreStmt: SqliteStatement;
  private readonly laterPatchesStmt: SqliteStatement;
  private readonly rowBuffer: SqlValue[];
  private readonly upserts = new Map<number | string, SqliteStatement>();
  private readonly isPk: boolean[];
  private readonly rangeStmt: SqliteStatement;
  private readonly aboveStmt: SqliteStatement;
  private readonly lastBeforeStmt: SqliteStatement;
  private readonly deleteThroughStmt: SqliteStatement;

  constructor(driver: SqliteDriver, schema: TableSchema, nulls: NullStore) {
    this.driver = driver;
    this.schema = schema;
    this.nulls = nulls;
    const cols = schema.columns.map((c) => quoteId(c.name));
    this.width = cols.length;
    this.isPk = schema.columns.map((c) => c.pk > 0);
    const p = quoteId(schema.patchesName);
    // Every column is bound (absent ones as NULL) so a DEFAULT on T_patches cannot fake a set column.
    const insert = `INTO ${p} (${cols.join(", ")}, "_patchedAt", "_sequenceId", "_peerId") VALUES (${cols
      .map(() => "?")
      .join(", ")}, ?, ?, ?)`;
    this.insertPatchStmt = driver.prepare(`INSERT ${insert}`);
    this.insertPatchIgnoreStmt = driver.prepare(`INSERT OR IGNORE ${insert}`);
    const pkWhere = schema.pkIndexes.map((i) => `${cols[i]} = ?`).join(" AND ");
    const setFlags = schema.columns.map((c) => `${quoteId(c.name)} IS NOT NULL`).join(", ");
    this.laterPatchesStmt = driver.prepare(
      `SELECT ${setFlags}, "_peerId", "_sequenceId" FROM ${p} WHERE ${pkWhere} AND ("_patchedAt", "_peerId", "_sequenceId") > (?, ?, ?)`,
    );
    this.rowBuffer = new Array(this.width + 3).fill(null);
    this.rangeStmt = driver.prepare(
      `SELECT ${cols.map((c) => `p.${c}`).join(", ")}, p."_patchedAt", p."_sequenceId", n.cols FROM ${p} AS p
       LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"
       WHERE p."_peerId" = ? AND p."_sequenceId" BETWEEN ? AND ? ORDER BY p."_sequenceId"`,
    );
    this.aboveStmt = driver.prepare(`SELECT "_sequenceId" FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" > ?`);
    this.lastBeforeStmt = driver.prepare(`SELECT max("_sequenceId") FROM ${p} WHERE "_peerId" = ? AND "_patchedAt" < ?`);
    this.deleteThroughStmt = driver.prepare(`DELETE FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" <= ?`);
  }

  /** Appends the stored patches of one origin with sequence in [from, to] to `out`. */
  readRange(peerId: number, from: number, to: number, out: LocalPatch[]): void {
    const w = this.width;
    for (const row of this.rangeStmt.all([peerId, from, to])) {
      const explicit = row[w + 2] === null ? undefined : String(row[w + 2]).split(NAME_SEPARATOR);
      const cols: number[] = [];
      const values: SqlValue[] = [];
      for (let c = 0; c < w; c++) {
        const v = row[c]!;
        if (v !== null || explicit?.includes(this.schema.columns[c]!.name)) {
          cols.push(c);
          values.push(v);
        }
      }
      out.push({ table: this, peerId, seq: Number(row[w + 1]), patchedAt: Number(row[w]), cols, values });
    }
  }

  /** Sequences of one origin stored above `seq` (to rebuild gap state after a restart). */
  sequencesAbove(peerId: number, seq: number): number[] {
    return this.aboveStmt.all([peerId, seq]).map((r) => Number(r[0]));
  }

  /** Highest sequence of one origin whose timestamp is below `ts` (0 when none). */
  lastSeqBefore(peerId: number, ts: number): number {
    const row = this.lastBeforeStmt.get([peerId, ts]);
    return row && row[0] !== null ? Number(row[0]) : 0;
  }

  deleteThrough(peerId: number, seq: number): number {
    return this.deleteThroughStmt.run([peerId, seq]);
  }

  /**
   * Stores a patch in `T_patches`. With `ignoreDuplicate`, a patch already stored is skipped
   * and false returned; without it a duplicate is an error (local sequence numbers never repeat).
   */
  storePatch(p: LocalPatch, ignoreDuplicate: boolean): boolean {
    const buf = this.rowBuffer;
    buf.fill(null, 0, this.width);
    for (let i = 0; i < p.cols.length; i++) buf[p.cols[i]!] = p.values[i]!;
    buf[this.width] = p.patchedAt;
    buf[this.width + 1] = p.seq;
    buf[this.width + 2] = p.peerId;
    const changes = (ignoreDuplicate ? this.insertPatchIgnoreStmt : this.insertPatchStmt).run(buf);
    if (changes === 0) return false;
    for (let i = 0; i < p.values.length; i++) {
      if (p.values[i] === null) {
        this.nulls.record(p);
        break;
      }
    }
    return true;
  }

  /**
   * Merges a stored patch into `T`. `newest` says the caller knows no stored patch orders
   * after it (its timestamp is above every one seen), which skips the index probe.
   */
  mergeRow(p: LocalPatch, newest: boolean): void {
    if (newest) {
      this.upsertFor(p.cols).run(p.values);
      return;
    }
    const probe: SqlValue[] = [];
    for (const i of this.schema.pkIndexes) probe.push(p.values[p.cols.indexOf(i)]!);
    probe.push(p.patchedAt, p.peerId, p.seq);
    const later = this.laterPatchesStmt.all(probe);
    if (later.length === 0) {
      this.upsertFor(p.cols).run(p.values);
      return;
    }
    // Columns some later patch set (to a value or to an explicit NULL) stay as they are.
    const shadowed = new Array<boolean>(this.width).fill(false);
    for (const row of later) {
      for (let c = 0; c < this.width; c++) if (row[c] === 1) shadowed[c] = true;
      for (const name of this.nulls.explicitNulls(Number(row[this.width]), Number(row[this.width + 1]))) {
        const ci = this.schema.columnIndex.get(name);
        if (ci !== undefined) shadowed[ci] = true;
      }
    }
    const cols: number[] = [];
    const values: SqlValue[] = [];
    for (let i = 0; i < p.cols.length; i++) {
      const ci = p.cols[i]!;
      if (this.isPk[ci] || !shadowed[ci]) {
        cols.push(ci);
        values.push(p.values[i]!);
      }
    }
    this.upsertFor(cols).run(values);
  }

  /** INSERT ... ON CONFLICT(pk) DO UPDATE for exactly these columns; cached per column set. */
  private upsertFor(cols: number[]): SqliteStatement {
    let key: number | string;
    if (this.width <= 30) {
      key = 0;
      for (let i = 0; i < cols.length; i++) key |= 1 << cols[i]!;
    } else key = cols.join(",");
    let stmt = this.upserts.get(key);
    if (stmt) return stmt;
    const s = this.schema;
    const names = cols.map((i) => quoteId(s.columns[i]!.name));
    const pk = s.pkIndexes.map((i) => quoteId(s.columns[i]!.name));
    const updates = cols.filter((i) => !this.isPk[i]).map((i) => `${quoteId(s.columns[i]!.name)} = excluded.${quoteId(s.columns[i]!.name)}`);
    const conflict = updates.length ? `DO UPDATE SET ${updates.join(", ")}` : "DO NOTHING";
    stmt = this.driver.prepare(
      `INSERT INTO ${quoteId(s.name)} (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")}) ON CONFLICT (${pk.join(", ")}) ${conflict}`,
    );
    this.upserts.set(key, stmt);
    return stmt;
  }
}
