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
import { sameList } from "./codec.js";
import { quoteId, type TableSchema } from "./schema.js";

export const NULLS_TABLE = "_replic_nulls";
/** Bound parameters per statement we allow ourselves (SQLite's historic minimum limit). */
const MAX_PARAMS = 999;
/** Rows per multi-row statement in batched writes. */
const MAX_BATCH_ROWS = 64;

/** A batched insert stored fewer patches than queued: one was already there. Callers fall back. */
export class DuplicateInBatchError extends Error {
  constructor() {
    super("a patch in the batch was already stored");
  }
}
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
  private readonly purge: SqliteStatement;
  private readonly remove: SqliteStatement;
  constructor(driver: SqliteDriver) {
    this.remove = driver.prepare(`DELETE FROM ${NULLS_TABLE} WHERE peerId = ? AND seq = ?`);
    this.purge = driver.prepare(`DELETE FROM ${NULLS_TABLE} WHERE peerId = ? AND seq <= ?`);
    this.insert = driver.prepare(`INSERT OR REPLACE INTO ${NULLS_TABLE} (peerId, seq, tbl, cols) VALUES (?, ?, ?, ?)`);
  }
  record(p: LocalPatch): void {
    const names = explicitNullNames(p);
    if (names !== null) this.insert.run([p.peerId, p.seq, p.table.schema.name, names]);
  }
  deleteThrough(peerId: number, seq: number): void {
    this.purge.run([peerId, seq]);
  }
  forget(peerId: number, seq: number): void {
    this.remove.run([peerId, seq]);
  }
}

/** The columns a patch sets to NULL, joined by U+001F, or null when none. */
function explicitNullNames(p: LocalPatch): string | null {
  let names: string | null = null;
  const cols = p.table.schema.columns;
  for (let i = 0; i < p.cols.length; i++) {
    if (p.values[i] !== null) continue;
    const name = cols[p.cols[i]!]!.name;
    names = names === null ? name : names + NAME_SEPARATOR + name;
  }
  return names;
}

export class TableMerger {
  readonly schema: TableSchema;
  readonly columnNames: string[];
  private readonly driver: SqliteDriver;
  private readonly columnSets = new Map<number | string, number[]>();
  private readonly nulls: NullStore;
  private readonly width: number;
  /** Explicit NULLs live in T_patches._nulls (else in the side table). */
  private readonly inline: boolean;
  /** Bound values per patch row: the columns, the three reserved ones, and _nulls if present. */
  private readonly stride: number;
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
  private readonly lastOfStmt: SqliteStatement;
  private readonly unstoreStmt: SqliteStatement;
  // Batched writes (receive(), upsertMany()): rows are queued and written many per statement.
  private readonly patchBatchRows: number;
  private multiInsert: SqliteStatement | undefined;
  private readonly multiUpserts = new Map<number | string, SqliteStatement>();
  private readonly pendingPatches: SqlValue[];
  private pendingPatchCount = 0;
  private pendingUpsertCols: number[] | undefined;
  private pendingUpserts: SqlValue[] = [];
  private pendingUpsertCount = 0;

  constructor(driver: SqliteDriver, schema: TableSchema, nulls: NullStore) {
    this.driver = driver;
    this.schema = schema;
    this.columnNames = schema.columns.map((c) => c.name);
    this.nulls = nulls;
    const cols = schema.columns.map((c) => quoteId(c.name));
    this.width = cols.length;
    this.inline = schema.inlineNulls;
    this.stride = this.width + (this.inline ? 4 : 3);
    this.isPk = schema.columns.map((c) => c.pk > 0);
    const p = quoteId(schema.patchesName);
    this.insertPatchStmt = driver.prepare(this.patchInsertSql("INSERT", 1));
    this.insertPatchIgnoreStmt = driver.prepare(this.patchInsertSql("INSERT OR IGNORE", 1));
    // One aggregate row: per column, did any later patch of this row set it to a value; plus
    // the explicit-NULL column lists of those later patches. SQLite scans them, JS gets one row.
    const pkWhere = schema.pkIndexes.map((i) => `p.${cols[i]} = ?`).join(" AND ");
    const setFlags = schema.columns.map((c) => `max(p.${quoteId(c.name)} IS NOT NULL)`).join(", ");
    const nullsOf = this.inline ? `p."_nulls"` : "n.cols";
    const joinNulls = this.inline ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    this.laterPatchesStmt = driver.prepare(
      `SELECT ${setFlags}, group_concat(${nullsOf}, char(31)) FROM ${p} AS p ${joinNulls}
       WHERE ${pkWhere} AND (p."_patchedAt", p."_peerId", p."_sequenceId") > (?, ?, ?)`,
    );
    this.rowBuffer = new Array(this.stride).fill(null);
    this.rangeStmt = driver.prepare(
      `SELECT ${cols.map((c) => `p.${c}`).join(", ")}, p."_patchedAt", p."_sequenceId", ${nullsOf} FROM ${p} AS p ${joinNulls}
       WHERE p."_peerId" = ? AND p."_sequenceId" BETWEEN ? AND ? ORDER BY p."_sequenceId"`,
    );
    this.aboveStmt = driver.prepare(`SELECT "_sequenceId" FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" > ?`);
    this.lastBeforeStmt = driver.prepare(`SELECT max("_sequenceId") FROM ${p} WHERE "_peerId" = ? AND "_patchedAt" < ?`);
    this.deleteThroughStmt = driver.prepare(`DELETE FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" <= ?`);
    this.lastOfStmt = driver.prepare(
      `SELECT "_sequenceId", "_patchedAt" FROM ${p} WHERE "_peerId" = ? ORDER BY "_sequenceId" DESC LIMIT 1`,
    );
    this.unstoreStmt = driver.prepare(`DELETE FROM ${p} WHERE "_peerId" = ? AND "_sequenceId" = ?`);
    this.patchBatchRows = Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMS / this.stride));
    this.pendingPatches = new Array(this.patchBatchRows * this.stride).fill(null);
  }

  /**
   * Queues a patch for `T_patches` (explicit NULLs are recorded at once). The caller has ruled
   * out duplicates; if one slips through, flush() throws DuplicateInBatchError.
   */
  queuePatch(p: LocalPatch): void {
    this.fillPatchRow(this.pendingPatches, this.pendingPatchCount * this.stride, p);
    if (!this.inline) this.nulls.record(p);
    if (++this.pendingPatchCount === this.patchBatchRows) this.flushPatches();
  }

  /** Writes the bound values of one patch row into `buf` from `base`. */
  private fillPatchRow(buf: SqlValue[], base: number, p: LocalPatch): void {
    const w = this.width;
    buf.fill(null, base, base + w);
    for (let i = 0; i < p.cols.length; i++) buf[base + p.cols[i]!] = p.values[i]!;
    buf[base + w] = p.patchedAt;
    buf[base + w + 1] = p.seq;
    buf[base + w + 2] = p.peerId;
    if (this.inline) buf[base + w + 3] = explicitNullNames(p);
  }

  /**
   * Queues the merge of a patch into `T`. Patches known to be the newest of their row are
   * upserted in batches (grouped while their column sets repeat); any other first flushes the
   * queue, since it must read the later patches of its row.
   */
  queueMerge(p: LocalPatch, newest: boolean): void {
    if (!newest) {
      this.flush();
      this.mergeRow(p, false);
      return;
    }
    if (!this.pendingUpsertCols || !sameList(this.pendingUpsertCols, p.cols)) {
      this.flushUpserts();
      this.pendingUpsertCols = p.cols;
    }
    const vals = this.pendingUpserts;
    for (let i = 0; i < p.values.length; i++) vals.push(p.values[i]!);
    this.pendingUpsertCount++;
    if (this.pendingUpsertCount === this.upsertBatchRows(p.cols)) this.flushUpserts();
  }

  /** Writes everything queued. */
  flush(): void {
    this.flushPatches();
    this.flushUpserts();
  }

  /** Drops what is queued (the transaction is being rolled back). */
  discard(): void {
    this.pendingPatchCount = 0;
    this.pendingUpserts = [];
    this.pendingUpsertCount = 0;
    this.pendingUpsertCols = undefined;
  }

  private flushPatches(): void {
    const n = this.pendingPatchCount;
    if (n === 0) return;
    this.pendingPatchCount = 0;
    const stride = this.stride;
    let stored: number;
    if (n === this.patchBatchRows && n > 1) {
      this.multiInsert ??= this.driver.prepare(this.patchInsertSql("INSERT OR IGNORE", n));
      stored = this.multiInsert.run(this.pendingPatches);
    } else {
      stored = 0;
      for (let r = 0; r < n; r++) stored += this.insertPatchIgnoreStmt.run(this.pendingPatches.slice(r * stride, (r + 1) * stride));
    }
    if (stored !== n) throw new DuplicateInBatchError();
  }

  private flushUpserts(): void {
    const n = this.pendingUpsertCount;
    const cols = this.pendingUpsertCols;
    if (n === 0 || !cols) return;
    const vals = this.pendingUpserts;
    this.pendingUpserts = [];
    this.pendingUpsertCount = 0;
    if (n === this.upsertBatchRows(cols) && n > 1) {
      this.multiUpsertFor(cols, n).run(vals);
      return;
    }
    const stmt = this.upsertFor(cols);
    const k = cols.length;
    for (let r = 0; r < n; r++) stmt.run(vals.slice(r * k, (r + 1) * k));
  }

  private upsertBatchRows(cols: number[]): number {
    return Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMS / cols.length));
  }

  /**
   * INSERT of `rows` patch rows. Every column is bound (absent ones as NULL) so a DEFAULT on
   * T_patches cannot fake a set column.
   */
  private patchInsertSql(verb: string, rows: number): string {
    const s = this.schema;
    const names = [...s.columns.map((c) => quoteId(c.name)), `"_patchedAt"`, `"_sequenceId"`, `"_peerId"`];
    if (this.inline) names.push(`"_nulls"`);
    const tuple = `(${names.map(() => "?").join(", ")})`;
    return `${verb} INTO ${quoteId(s.patchesName)} (${names.join(", ")}) VALUES ${new Array(rows).fill(tuple).join(", ")}`;
  }

  /** A multi-row upsert: SQLite applies its rows in order, so a key repeated in it ends as the last. */
  private multiUpsertFor(cols: number[], rows: number): SqliteStatement {
    const key = this.shapeKey(cols, cols.length);
    let stmt = this.multiUpserts.get(key);
    if (stmt) return stmt;
    stmt = this.driver.prepare(this.upsertSql(cols, rows));
    this.multiUpserts.set(key, stmt);
    return stmt;
  }

  /** Takes back a patch stored or queued in this transaction whose merge failed. */
  unstore(p: LocalPatch): void {
    const n = this.pendingPatchCount;
    const last = (n - 1) * this.stride + this.width;
    if (n > 0 && this.pendingPatches[last + 1] === p.seq && this.pendingPatches[last + 2] === p.peerId) {
      this.pendingPatchCount--;
    } else {
      this.unstoreStmt.run([p.peerId, p.seq]);
    }
    this.nulls.forget(p.peerId, p.seq);
  }

  /** The highest stored sequence of one origin and its timestamp ([0, 0] when none). */
  lastOf(peerId: number): [number, number] {
    const row = this.lastOfStmt.get([peerId]);
    return row ? [Number(row[0]), Number(row[1])] : [0, 0];
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

  /** Cache key of a column set (its first `n` indexes): a bit mask when the table is narrow. */
  private shapeKey(cols: readonly number[], n: number): number | string {
    if (this.width > 30) return cols.slice(0, n).join(",");
    let key = 0;
    for (let i = 0; i < n; i++) key |= 1 << cols[i]!;
    return key;
  }

  /** One shared array per distinct column set, so patches need not each own one. */
  columnSet(cols: readonly number[], n = cols.length): number[] {
    const key = this.shapeKey(cols, n);
    let set = this.columnSets.get(key);
    if (!set) {
      set = cols.slice(0, n);
      this.columnSets.set(key, set);
    }
    return set;
  }

  /**
   * Stores a patch in `T_patches`. With `ignoreDuplicate`, a patch already stored is skipped
   * and false returned; without it a duplicate is an error (local sequence numbers never repeat).
   */
  storePatch(p: LocalPatch, ignoreDuplicate: boolean): boolean {
    const buf = this.rowBuffer;
    this.fillPatchRow(buf, 0, p);
    const changes = (ignoreDuplicate ? this.insertPatchIgnoreStmt : this.insertPatchStmt).run(buf);
    if (changes === 0) return false;
    if (!this.inline) this.nulls.record(p);
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
    this.flushPatches(); // the probe must see every patch of this row, queued ones included
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

  /** INSERT ... ON CONFLICT(pk) DO UPDATE for exactly these columns; cached per column set. */
  private upsertFor(cols: number[]): SqliteStatement {
    const key = this.shapeKey(cols, cols.length);
    let stmt = this.upserts.get(key);
    if (stmt) return stmt;
    stmt = this.driver.prepare(this.upsertSql(cols, 1));
    this.upserts.set(key, stmt);
    return stmt;
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
