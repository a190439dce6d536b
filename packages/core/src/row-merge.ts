/**
 * The merge rule (README, "Merge rule") for one table: per row and column, the value of the highest
 * (patchedAt, peerId, sequenceId) patch that set it. A patch known to be the newest of its row
 * (the usual case) is upserted straight into `T`, many rows per statement; one that arrives late
 * asks `T_patches` which later patches of its row set which columns, and writes only the columns
 * it still wins.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { NAME_SEPARATOR, NULLS_TABLE } from "./null-store.js";
import { MAX_BATCH_ROWS, MAX_PARAMS, repeat, runInChunks, type PatchLog } from "./patch-log.js";
import type { SchemaPatch } from "./local-patch.js";
import { quoteId, type TableSchema } from "./schema.js";
import { storesIntegralRealAsInteger } from "./values.js";
import { sameList } from "./wire/encoder.js";

export class RowMerger {
  private readonly width: number;
  private readonly isPk: boolean[];
  private readonly laterPatchesStmt: SqliteStatement;
  private readonly rowPatchesStmt: SqliteStatement;
  private readonly deleteRowStmt: SqliteStatement;
  private readonly upserts = new Map<number | string, SqliteStatement>();
  private readonly multiUpserts = new Map<string, SqliteStatement>();
  private pendingCols: number[] | undefined;
  /** Bound values of the queued rows: a full batch's buffer, reused, one per column count. */
  private pending: SqlValue[] = [];
  private readonly buffers: SqlValue[][] = [];
  private pendingCount = 0;
  /**
   * Set (by visibility.ts) for a table with constraints: its rows are not written here but
   * handed over by key, and shown once valid.
   */
  guard: ((key: SqlValue[], p?: SchemaPatch, newest?: boolean) => void) | undefined;

  constructor(
    private readonly driver: SqliteDriver,
    private readonly schema: TableSchema,
    private readonly log: PatchLog,
    private readonly shapeKey: (cols: readonly number[], n: number) => number | string,
  ) {
    this.width = schema.columns.length;
    this.isPk = schema.columns.map((c) => c.pk > 0);
    // One aggregate row: per column, did any later patch of this row set it to a value; plus
    // the explicit-NULL column lists of those later patches. SQLite scans them, JS gets one row.
    const cols = schema.columns.map((c) => quoteId(c.name));
    const pkWhere = schema.pkIndexes.map((i) => `p.${cols[i]} = ?`).join(" AND ");
    const setFlags = cols.map((c) => `max(p.${c} IS NOT NULL)`).join(", ");
    const nullsOf = schema.inlineNulls ? `p."_nulls"` : "n.cols";
    const joinNulls = schema.inlineNulls ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    this.laterPatchesStmt = driver.prepare(
      `SELECT ${setFlags}, group_concat(${nullsOf}, char(31)) FROM ${quoteId(schema.patchesName)} AS p ${joinNulls}
       WHERE ${pkWhere} AND (p."_patchedAt", p."_peerId", p."_sequenceId") > (?, ?, ?)`,
    );
    this.rowPatchesStmt = driver.prepare(
      `SELECT ${cols.map((c) => `p.${c}`).join(", ")}, ${nullsOf} FROM ${quoteId(schema.patchesName)} AS p ${joinNulls}
       WHERE ${pkWhere} ORDER BY p."_patchedAt", p."_peerId", p."_sequenceId"`,
    );
    this.deleteRowStmt = driver.prepare(
      `DELETE FROM ${quoteId(schema.name)} WHERE ${schema.pkIndexes.map((i) => `${cols[i]} = ?`).join(" AND ")}`,
    );
  }

  /**
   * Queues the merge of a stored (or queued) patch. Patches known to be the newest of their row
   * are upserted in batches, grouped while their column sets repeat; any other first flushes the
   * queue, since it must read the later patches of its row.
   */
  queue(p: SchemaPatch, newest: boolean): void {
    if (this.guard) return this.guard(this.keyOf(p), p, newest);
    if (!newest) {
      this.log.flush();
      this.flush();
      this.merge(p, false);
      return;
    }
    const k = p.cols.length;
    if (this.pendingCols !== p.cols && (!this.pendingCols || !sameList(this.pendingCols, p.cols))) {
      this.flush();
      this.pendingCols = p.cols;
      this.pending = this.buffers[k] ??= new Array<SqlValue>(this.batchRows(p.cols) * k).fill(null);
    }
    const vals = this.pending;
    const base = this.pendingCount * k;
    for (let i = 0; i < k; i++) vals[base + i] = p.values[i]!;
    if (++this.pendingCount * k === vals.length) this.flush();
  }

  flush(): void {
    const n = this.pendingCount;
    const cols = this.pendingCols;
    if (n === 0 || !cols) return;
    const vals = this.pending;
    this.pendingCount = 0;
    if (n === this.batchRows(cols) && n > 1) {
      this.multiUpsertFor(cols, n).run(vals);
      return;
    }
    runInChunks(vals, n, cols.length, (rows) => (rows === 1 ? this.upsertFor(cols) : this.multiUpsertFor(cols, rows)));
  }

  discard(): void {
    this.pendingCount = 0;
    this.pendingCols = undefined;
  }

  /**
   * Merges a stored patch into `T` now. `newest` says the caller knows no stored patch orders
   * after it (its timestamp is above every one seen), which skips the probe.
   */
  merge(p: SchemaPatch, newest: boolean): void {
    if (this.guard) return this.guard(this.keyOf(p), p, newest);
    if (newest) {
      this.upsertFor(p.cols).run(p.values);
      return;
    }
    this.log.flush(); // the probe must see every patch of this row, queued ones included
    const probe: SqlValue[] = [];
    for (const i of this.schema.pkIndexes) probe.push(p.values[p.cols.indexOf(i)]!);
    probe.push(p.patchedAt, p.peerId, p.seq);
    const later = this.laterPatchesStmt.get(probe)!;
    if (later[0] === null) {
      // No later patch of this row: it wins every column it sets.
      this.upsertFor(p.cols).run(p.values);
      return;
    }
    // Columns some later patch set (to a value or to an explicit NULL) stay as they are.
    const shadowed = new Array<boolean>(this.width);
    for (let c = 0; c < this.width; c++) shadowed[c] = later[c] === 1;
    if (later[this.width] !== null) {
      for (const name of String(later[this.width]).split(NAME_SEPARATOR)) {
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

  /**
   * Recomputes the row of `key` (primary-key values in key order) from the patches stored for it,
   * after one of them was replaced (two writers under one peer id, see inbound.ts). `exact` says
   * no patch was ever collected here: the row is rewritten from scratch. Otherwise columns the
   * retained patches do not set keep their value (they may come from collected patches).
   */
  rebuild(key: SqlValue[], exact: boolean): void {
    if (this.guard) return this.guard(key);
    this.log.flush();
    this.flush();
    const w = this.width;
    const set = new Array<boolean>(w).fill(false);
    const values = new Array<SqlValue>(w).fill(null);
    let any = false;
    for (const row of this.rowPatchesStmt.all(key)) {
      any = true;
      const explicit = row[w] === null ? undefined : String(row[w]).split(NAME_SEPARATOR);
      for (let c = 0; c < w; c++) {
        if (row[c] !== null) {
          set[c] = true;
          values[c] = row[c]!;
        } else if (explicit?.includes(this.schema.columns[c]!.name)) {
          set[c] = true;
          values[c] = null;
        }
      }
    }
    if (exact) this.deleteRowStmt.run(key);
    if (!any) return;
    const cols: number[] = [];
    const vals: SqlValue[] = [];
    for (let c = 0; c < w; c++) {
      if (set[c]) {
        cols.push(c);
        vals.push(values[c]!);
      }
    }
    this.upsertFor(cols).run(vals);
  }

  /**
   * Merges patches handed over to the guard as if there were none (visibility.ts's fast path:
   * SQLite checks the constraints; a failure there sends the batch down the row-by-row check).
   */
  replay(patches: ReadonlyArray<readonly [SchemaPatch, boolean]>): void {
    const guard = this.guard;
    this.guard = undefined;
    try {
      for (const [p, newest] of patches) this.queue(p, newest);
      this.flush();
    } finally {
      this.discard();
      this.guard = guard;
    }
  }

  /** Shows a row (visibility.ts): upserts exactly these columns. */
  writeRow(cols: number[], values: SqlValue[]): void {
    this.upsertFor(cols).run(values);
  }

  /** Takes a row out of `T` (visibility.ts parks it). */
  deleteRow(key: SqlValue[]): void {
    this.deleteRowStmt.run(key);
  }

  private keyOf(p: SchemaPatch): SqlValue[] {
    return this.schema.pkIndexes.map((i) => p.values[p.cols.indexOf(i)]!);
  }

  private batchRows(cols: number[]): number {
    return Math.min(MAX_BATCH_ROWS, Math.floor((this.driver.maxParams ?? MAX_PARAMS) / cols.length));
  }

  /** INSERT ... ON CONFLICT(pk) DO UPDATE for exactly these columns; cached per column set. */
  private upsertFor(cols: number[]): SqliteStatement {
    const key = this.shapeKey(cols, cols.length);
    let stmt = this.upserts.get(key);
    if (!stmt) this.upserts.set(key, (stmt = this.driver.prepare(this.upsertSql(cols, 1), this.numericOf(cols, 1))));
    return stmt;
  }

  /** A multi-row upsert: SQLite applies its rows in order, so a key repeated in it ends as the last. */
  private multiUpsertFor(cols: number[], rows: number): SqliteStatement {
    const key = `${this.shapeKey(cols, cols.length)}/${rows}`;
    let stmt = this.multiUpserts.get(key);
    if (!stmt) this.multiUpserts.set(key, (stmt = this.driver.prepare(this.upsertSql(cols, rows), this.numericOf(cols, rows))));
    return stmt;
  }

  /** The driver's per-parameter hint for an upsert of these columns (see SqliteDriver.prepare). */
  private numericOf(cols: number[], rows: number): boolean[] {
    return repeat(
      cols.map((i) => storesIntegralRealAsInteger(this.schema.columns[i]!.affinity)),
      rows,
    );
  }

  private upsertSql(cols: number[], rows: number): string {
    const s = this.schema;
    const names = cols.map((i) => quoteId(s.columns[i]!.name));
    const pk = s.pkIndexes.map((i) => quoteId(s.columns[i]!.name));
    const updates = cols.filter((i) => !this.isPk[i]).map((i) => `${quoteId(s.columns[i]!.name)} = excluded.${quoteId(s.columns[i]!.name)}`);
    const conflict = updates.length ? `DO UPDATE SET ${updates.join(", ")}` : "DO NOTHING";
    const tuple = `(${names.map(() => "?").join(", ")})`;
    return `INSERT INTO ${quoteId(s.name)} (${names.join(", ")}) VALUES ${new Array(rows).fill(tuple).join(", ")} ON CONFLICT (${pk.join(", ")}) ${conflict}`;
  }
}
