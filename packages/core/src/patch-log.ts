/**
 * The patch log of one table: `T_patches`, where every patch is kept (with its explicit NULLs)
 * until collection. Writes are queued and inserted many rows per statement; reads serve ranges
 * to neighbours and rebuild heads. The merge rule lives apart, in row-merge.ts.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { explicitNullNames, NAME_SEPARATOR, NULLS_TABLE, type NullStore } from "./null-store.js";
import type { PatchOf, SchemaPatch } from "./local-patch.js";
import { quoteId, readColumns, RESERVED_COLUMNS, type TableSchema } from "./schema.js";
import { storesIntegralRealAsInteger } from "./values.js";

/** Bound parameters per statement we allow ourselves (SQLite's historic minimum limit). */
export const MAX_PARAMS = 999;
/** Rows per multi-row statement in batched writes. */
export const MAX_BATCH_ROWS = 64;

/** A batched insert stored fewer patches than queued: one was already there. Callers fall back. */
export class DuplicateInBatchError extends Error {
  constructor() {
    super("a patch in the batch was already stored");
  }
}

export class PatchLog {
  private readonly width: number;
  /** Explicit NULLs live in T_patches._nulls (else in the side table). */
  private readonly inline: boolean;
  /** Bound values per patch row: the columns, the three reserved ones, and _nulls if present. */
  private readonly stride: number;
  private readonly insertStmt: SqliteStatement;
  private readonly insertIgnoreStmt: SqliteStatement;
  private readonly rowBuffer: SqlValue[];
  private readonly rangeStmt: SqliteStatement;
  private readonly aboveStmt: SqliteStatement;
  private readonly firstStampedStmt: SqliteStatement;
  private readonly deleteThroughStmt: SqliteStatement;
  private readonly lastOfStmt: SqliteStatement;
  private readonly unstoreStmt: SqliteStatement;
  private readonly stampStmt: SqliteStatement;
  private readonly batchRows: number;
  /** Per bound value of a patch row: its T_patches column stores an integral REAL as INTEGER. */
  private readonly numeric: boolean[];
  private nextStmt: SqliteStatement | undefined;
  /** Multi-row inserts, by row count (the full batch and power-of-two remainders). */
  private readonly multiInserts = new Map<number, SqliteStatement>();
  private readonly pending: SqlValue[];
  private pendingCount = 0;

  constructor(
    private readonly driver: SqliteDriver,
    private readonly schema: TableSchema,
    private readonly nulls: NullStore,
  ) {
    const cols = schema.columns.map((c) => quoteId(c.name));
    this.width = cols.length;
    this.inline = schema.inlineNulls;
    this.stride = this.width + (this.inline ? 4 : 3);
    const p = quoteId(schema.patchesName);
    // T_patches declares its own column types (usually T's): the hint follows them.
    const affinity = new Map(readColumns(driver, schema.patchesName).map((c) => [c.name, c.affinity]));
    const bound: string[] = [...schema.columns.map((c) => c.name), ...RESERVED_COLUMNS];
    if (this.inline) bound.push("_nulls");
    this.numeric = bound.map((name) => {
      const a = affinity.get(name);
      return a !== undefined && storesIntegralRealAsInteger(a);
    });
    this.insertStmt = driver.prepare(this.insertSql(false, 1), this.numeric);
    this.insertIgnoreStmt = driver.prepare(this.insertSql(true, 1), this.numeric);
    this.rowBuffer = new Array(this.stride).fill(null);
    const nullsOf = this.inline ? `p."_nulls"` : "n.cols";
    const joinNulls = this.inline ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    this.rangeStmt = driver.prepare(
      `SELECT ${cols.map((c) => `p.${c}`).join(", ")}, p."_patchedAt", p."_sequenceId", ${nullsOf} FROM ${p} AS p ${joinNulls}
       WHERE p."_peerId" = ? AND p."_sequenceId" BETWEEN ? AND ? ORDER BY p."_sequenceId"`,
    );
    this.aboveStmt = driver.prepare(`SELECT "_sequenceId" FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" > ?`);
    // In sequence order from `from`, stopping at the first match: reads only what precedes it.
    this.firstStampedStmt = driver.prepare(
      `SELECT "_sequenceId" FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" >= ? AND "_patchedAt" >= ? ORDER BY "_sequenceId" LIMIT 1`,
    );
    this.deleteThroughStmt = driver.prepare(`DELETE FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" <= ?`);
    this.lastOfStmt = driver.prepare(`SELECT "_sequenceId", "_patchedAt" FROM ${p} WHERE "_peerId" = ? ORDER BY "_sequenceId" DESC LIMIT 1`);
    this.unstoreStmt = driver.prepare(`DELETE FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" = ?`);
    this.stampStmt = driver.prepare(`SELECT "_patchedAt" FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" = ?`);
    this.batchRows = Math.min(MAX_BATCH_ROWS, Math.floor((driver.maxParams ?? MAX_PARAMS) / this.stride));
    this.pending = new Array(this.batchRows * this.stride).fill(null);
  }

  /**
   * Queues a patch (explicit NULLs of the side table are recorded at once). The caller has ruled
   * out duplicates; if one slips through, flush() throws DuplicateInBatchError.
   */
  queue(p: SchemaPatch): void {
    this.fillRow(this.pending, this.pendingCount * this.stride, p);
    if (!this.inline) this.nulls.record(p);
    if (++this.pendingCount === this.batchRows) this.flush();
  }

  /** Writes the bound values of one patch row into `buf` from `base`. */
  private fillRow(buf: SqlValue[], base: number, p: SchemaPatch): void {
    const w = this.width;
    buf.fill(null, base, base + w);
    for (let i = 0; i < p.cols.length; i++) buf[base + p.cols[i]!] = p.values[i]!;
    buf[base + w] = p.patchedAt;
    buf[base + w + 1] = p.seq;
    buf[base + w + 2] = p.peerId;
    if (this.inline) buf[base + w + 3] = explicitNullNames(p);
  }

  /** Writes every queued patch. */
  flush(): void {
    const n = this.pendingCount;
    if (n === 0) return;
    this.pendingCount = 0;
    const stored =
      n === this.batchRows && n > 1
        ? this.insertOf(n).run(this.pending)
        : runInChunks(this.pending, n, this.stride, (rows) => (rows === 1 ? this.insertIgnoreStmt : this.insertOf(rows)));
    if (stored !== n) throw new DuplicateInBatchError();
  }

  /** Drops what is queued (the transaction is being rolled back). */
  discard(): void {
    this.pendingCount = 0;
  }

  /** The INSERT of `rows` patch rows that skips stored patches, prepared on first use. */
  private insertOf(rows: number): SqliteStatement {
    let stmt = this.multiInserts.get(rows);
    if (!stmt) this.multiInserts.set(rows, (stmt = this.driver.prepare(this.insertSql(true, rows), repeat(this.numeric, rows))));
    return stmt;
  }

  /**
   * Stores one patch now. With `ignoreDuplicate`, a patch already stored is skipped and false
   * returned; without it a duplicate is an error.
   */
  store(p: SchemaPatch, ignoreDuplicate: boolean): boolean {
    const buf = this.rowBuffer;
    this.fillRow(buf, 0, p);
    const changes = (ignoreDuplicate ? this.insertIgnoreStmt : this.insertStmt).run(buf);
    if (changes === 0) return false;
    if (!this.inline) this.nulls.record(p);
    return true;
  }

  /** Takes back a patch stored or queued in this transaction whose merge failed. */
  unstore(p: SchemaPatch): void {
    const n = this.pendingCount;
    const last = (n - 1) * this.stride + this.width;
    if (n > 0 && this.pending[last + 1] === p.seq && this.pending[last + 2] === p.peerId) {
      this.pendingCount--;
    } else {
      this.unstoreStmt.run([p.peerId, p.seq]);
    }
    this.nulls.forget(p.peerId, p.seq);
  }

  /** The timestamp of a stored patch, or undefined when it is not stored here. */
  stampOf(peerId: number, seq: number): number | undefined {
    this.flush();
    const row = this.stampStmt.get([peerId, seq]);
    return row ? Number(row[0]) : undefined;
  }

  /** The highest stored sequence of one origin and its timestamp ([0, 0] when none). */
  lastOf(peerId: number): [number, number] {
    const row = this.lastOfStmt.get([peerId]);
    return row ? [Number(row[0]), Number(row[1])] : [0, 0];
  }

  /** The lowest stored sequence of this origin above `seq` (an index probe), or undefined. */
  nextAbove(peerId: number, seq: number): number | undefined {
    this.nextStmt ??= this.driver.prepare(`SELECT min("_sequenceId") FROM ${quoteId(this.schema.patchesName)} WHERE "_peerId" = ? AND "_sequenceId" > ?`);
    const row = this.nextStmt.get([peerId, seq]);
    return row && row[0] !== null ? Number(row[0]) : undefined;
  }

  /** Appends the stored patches of one origin with sequence in [from, to] to `out`. */
  readRange<T>(table: T, peerId: number, from: number, to: number, out: PatchOf<T>[]): void {
    this.toPatches(table, this.rangeStmt.all([peerId, from, to]), () => peerId, out);
  }

  /** Every stored patch (a migration about to drop columns keeps their values). */
  readAll<T>(table: T): PatchOf<T>[] {
    const cols = this.schema.columns.map((c) => `p.${quoteId(c.name)}`).join(", ");
    const nullsOf = this.inline ? `p."_nulls"` : "n.cols";
    const joinNulls = this.inline ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    const rows = this.driver
      .prepare(`SELECT ${cols}, p."_patchedAt", p."_sequenceId", ${nullsOf}, p."_peerId" FROM ${quoteId(this.schema.patchesName)} AS p ${joinNulls}`)
      .all([]);
    const out: PatchOf<T>[] = [];
    this.toPatches(table, rows, (row) => Number(row[this.width + 3]), out);
    return out;
  }

  private toPatches<T>(table: T, rows: SqlValue[][], peerOf: (row: SqlValue[]) => number, out: PatchOf<T>[]): void {
    const w = this.width;
    for (const row of rows) {
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
      out.push({ table, peerId: peerOf(row), seq: Number(row[w + 1]), patchedAt: Number(row[w]), cols, values });
    }
  }

  /** Sequences of one origin stored above `seq` (to rebuild gap state after a restart). */
  sequencesAbove(peerId: number, seq: number): number[] {
    return this.aboveStmt.all([peerId, seq]).map((r) => Number(r[0]));
  }

  /** The lowest sequence of one origin from `from` on stamped at or after `ts`, or undefined. */
  firstStampedFrom(peerId: number, from: number, ts: number): number | undefined {
    const row = this.firstStampedStmt.get([peerId, from, ts]);
    return row ? Number(row[0]) : undefined;
  }

  deleteThrough(peerId: number, seq: number): number {
    return this.deleteThroughStmt.run([peerId, seq]);
  }

  /**
   * INSERT of `rows` patch rows. Every column is bound (absent ones as NULL) so a DEFAULT on
   * T_patches cannot fake a set column. `skipStored` skips a patch already stored with ON
   * CONFLICT DO NOTHING, which covers only the keys: a CHECK or NOT NULL on T_patches still
   * fails the statement (INSERT OR IGNORE would skip that row too, and it would pass for a
   * duplicate).
   */
  private insertSql(skipStored: boolean, rows: number): string {
    const s = this.schema;
    const names = [...s.columns.map((c) => quoteId(c.name)), ...RESERVED_COLUMNS.map(quoteId)];
    if (this.inline) names.push(`"_nulls"`);
    const tuple = `(${names.map(() => "?").join(", ")})`;
    const insert = `INSERT INTO ${quoteId(s.patchesName)} (${names.join(", ")}) VALUES ${new Array(rows).fill(tuple).join(", ")}`;
    return skipStored ? insert + " ON CONFLICT DO NOTHING" : insert;
  }
}

/** The largest power of two not above `n` (n ≥ 1): the row count of the next remainder statement. */
function chunkRows(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * Runs the first `n` rows of `stride` values in `buf` (the rest of a batch: the tail of a message
 * or transaction) as the fewest multi-row statements, of power-of-two row counts so a table
 * prepares only a handful of them. Returns the rows changed.
 */
export function runInChunks(buf: SqlValue[], n: number, stride: number, statementFor: (rows: number) => SqliteStatement): number {
  let changed = 0;
  for (let r = 0; r < n; ) {
    const rows = chunkRows(n - r);
    changed += statementFor(rows).run(buf.slice(r * stride, (r + rows) * stride));
    r += rows;
  }
  return changed;
}

/** `list` repeated `n` times (the per-parameter hint of a multi-row statement). */
export function repeat<T>(list: readonly T[], n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(...list);
  return out;
}
