/**
 * The drain of captured tables (capture-queue.ts): inside the open local transaction, every
 * queued change becomes a patch of its group — the next sequence number, the transaction's one
 * clock stamp, its row in `T_patches` — and the queue entries are deleted, all in that one
 * transaction (a crash keeps both or neither).
 *
 * Set-wise where it can be: one `INSERT … SELECT` per table folds the queue's entries into one
 * patch per row (no fold where no key repeats: each entry is its row's patch), numbers them in
 * SQL in the order their rows were first written and writes them to `T_patches` (explicit NULLs
 * included); one `DELETE` empties the queue. `T` already holds the
 * values, so it is not written. Row by row, through JS, where `T` must be written too: a table
 * with a column that keeps values as given (no declared type, BLOB), rewritten so the writer's
 * row holds what receivers store; and a drain whose stamp orders before a patch merged earlier (a
 * far-ahead remote clock was refused), whose rows are recomputed by the merge rule.
 */
import type { Bookkeeping } from "./bookkeeping.js";
import { DRAIN_CHUNK, type CaptureQueue, type QueueSlice } from "./capture-queue.js";
import type { Catalog } from "./catalog.js";
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { NAME_SEPARATOR, NULLS_TABLE } from "./null-store.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import { NULLS_COLUMN, quoteId, RESERVED_COLUMNS } from "./schema.js";

/** What the drain needs of the open local transaction (local-writes.ts). */
export interface DrainHost {
  readonly book: Bookkeeping;
  readonly catalog: Catalog;
  /** Patches the open transaction's group may still take (limits.maxGroupPatches). */
  room(): number;
  /** The open transaction's one clock stamp (its first write takes it). */
  stamp(): number;
  /** Queues a patch row, written with the transaction's others before COMMIT. */
  queue(p: LocalPatch): void;
  /** Whether `note` wants every patch (a merge listener or a linked neighbour). */
  noting(): boolean;
  /** A patch of the transaction: its row named in the merge event, the patch sent. */
  note(t: ReplicatedTable, seq: number, patchedAt: number, cols: number[], values: SqlValue[]): void;
  /** `n` patches of `t` written: counted, the table touched. */
  wrote(t: ReplicatedTable, n: number): void;
  /** A failed statement as the caller should see it. */
  explain(err: unknown, t: ReplicatedTable): unknown;
}

/** The set-wise statements of one table, under one way of numbering the patches. */
interface Numbered {
  /** Params: stamp, the numbering's offset, peer id, last entry. */
  patches: SqliteStatement;
  /** Explicit NULLs into the side table, when `T_patches` has no `_nulls`. Params: peer id, the numbering's offset, table, last entry. */
  nulls: SqliteStatement | undefined;
}

interface TableDrain {
  /** Whether no key repeats in the slice (params: last entry, twice). */
  flatCheck: SqliteStatement;
  /** Sequence = offset + the entry id, one patch per entry, nothing folded (flatCheck said so, the ids have no hole). */
  flat: Numbered;
  /** Folded; sequence = offset + the row's rank by first entry. */
  byRank: Numbered;
}

export class CaptureDrain {
  private readonly tables = new WeakMap<ReplicatedTable, TableDrain>();

  constructor(
    private readonly driver: SqliteDriver,
    readonly queue: CaptureQueue,
  ) {}

  /** Inside the open transaction: every queued entry becomes a patch of its group, up to the group limit. */
  drain(h: DrainHost): void {
    const q = this.queue;
    if (!q.pending()) return;
    // Whole slices while the group stays under its limit (what is left drains in the next group).
    for (let room = h.room(); room > 0; room = h.room()) {
      const budget = Math.min(DRAIN_CHUNK, room);
      const slices = q.slices(budget);
      let taken = 0;
      for (const s of slices) {
        this.drainSlice(h, s);
        taken += s.entries;
      }
      // Fewer entries than asked for: the queue is empty now.
      if (taken < budget) break;
    }
  }

  private drainSlice(h: DrainHost, s: QueueSlice): void {
    const t = h.catalog.get(s.shape.name);
    const { book } = h;
    const stamp = h.stamp();
    // One stamp and rising sequences: the first patch is the newest merged so far, or none is.
    if (rewritten(t) || !book.isNewest(stamp, book.peerId, book.seq + 1)) {
      for (const c of this.queue.fold(s)) this.logOne(h, t, stamp, c.cols, c.values);
    } else {
      this.logSlice(h, t, stamp, s);
    }
    this.queue.clear(s);
  }

  /**
   * The slice written to `T_patches` by SQL, patches numbered in the order their rows were first
   * written. When no key repeats and the entry ids run without a hole (the usual batch: INSERTs
   * of new rows, UPDATEs of one column of each row once), the entries are the patches: read in
   * entry order and numbered by entry id, with no fold (a GROUP BY sorts the whole queue). Else
   * the entries are folded, one patch per row, numbered by a window over the folded rows.
   */
  private logSlice(h: DrainHost, t: ReplicatedTable, stamp: number, s: QueueSlice): void {
    const { book } = h;
    const base = book.seq;
    const peer = book.peerId;
    // Our own sequence already stored: another writer used our id in this database.
    if (t.log.nextAbove(peer, base) !== undefined) throw book.supersededError();
    const st = this.statementsOf(t, s);
    let n = 0;
    try {
      // A repeated key folds: fewer patches than entries, so numbering by entry id would leave holes.
      const flat = s.last - s.first + 1 === s.entries && st.flatCheck.get([s.last, s.last])![0] === 1;
      const by = flat ? st.flat : st.byRank;
      const offset = flat ? base - s.first + 1 : base;
      n = by.patches.run([stamp, offset, peer, s.last]);
      by.nulls?.run([peer, offset, t.name, s.last]);
    } catch (err) {
      throw h.explain(err, t);
    }
    book.seq = base + n;
    book.noteMerged(stamp, peer, book.seq);
    h.wrote(t, n);
    if (!h.noting()) return;
    const written: LocalPatch[] = [];
    t.log.readRange(t, peer, base + 1, base + n, written);
    for (const p of written) h.note(t, p.seq, p.patchedAt, p.cols, p.values);
  }

  /**
   * One change through JS: `T` already holds its values, unless the patch is not the newest of
   * its row (then the row is recomputed from the log) or the table keeps values as given (then
   * it is written again, so an integral REAL reads back as receivers store it).
   */
  private logOne(h: DrainHost, t: ReplicatedTable, stamp: number, cols: number[], values: SqlValue[]): void {
    const { book } = h;
    const seq = book.seq + 1;
    const p: LocalPatch = { table: t, peerId: book.peerId, seq, patchedAt: stamp, cols, values };
    const newest = book.isNewest(stamp, p.peerId, seq);
    try {
      h.queue(p);
      if (!newest) this.queue.quiet(() => t.rows.rebuild(t.keyOf(cols, values), false));
      else if (rewritten(t)) this.queue.quiet(() => t.rows.merge(p, true));
    } catch (err) {
      throw h.explain(err, t);
    }
    book.seq = seq;
    if (newest) book.noteMerged(stamp, p.peerId, seq);
    h.wrote(t, 1);
    h.note(t, seq, stamp, cols, values);
  }

  private statementsOf(t: ReplicatedTable, s: QueueSlice): TableDrain {
    let st = this.tables.get(t);
    if (st) return st;
    const schema = t.schema;
    const fold = this.queue.foldSql(s.shape);
    const values = s.shape.columns.map((_, i) => `"x${i}"`);
    // The names of the columns set to NULL, in column order, as explicitNullNames writes them.
    const sep = `char(${NAME_SEPARATOR.codePointAt(0)})`;
    const named = s.shape.columns.map((c, i) => `CASE WHEN "s${i}" AND "x${i}" IS NULL THEN ${sep} || '${c.name.replace(/'/g, "''")}' ELSE '' END`);
    const nulls = `nullif(substr(${named.join(" || ")}, 2), '')`;
    const names = [...s.shape.columns.map((c) => quoteId(c.name)), ...RESERVED_COLUMNS.map(quoteId)];
    if (schema.inlineNulls) names.push(quoteId(NULLS_COLUMN));
    const P = quoteId(schema.patchesName);
    const numbered = (seq: string, from = fold): Numbered => ({
      patches: this.driver.prepare(
        `INSERT INTO ${P} (${names.join(", ")}) SELECT ${[...values, "?", seq, "?", ...(schema.inlineNulls ? [nulls] : [])].join(", ")} FROM (${from})`,
      ),
      nulls: schema.inlineNulls
        ? undefined
        : this.driver.prepare(
            `INSERT OR REPLACE INTO ${NULLS_TABLE} (peerId, seq, tbl, cols) SELECT * FROM (SELECT ? AS "p", ${seq} AS "q", ? AS "t", ${nulls} AS "c" FROM (${from})) WHERE "c" IS NOT NULL`,
          ),
    });
    st = {
      flatCheck: this.driver.prepare(this.queue.flatCheckSql(s.shape)),
      flat: numbered(`? + "f"`, this.queue.flatSql(s.shape)),
      byRank: numbered(`? + row_number() OVER (ORDER BY "f")`),
    };
    this.tables.set(t, st);
    return st;
  }
}

const rewrite = new WeakMap<ReplicatedTable, boolean>();
/** Whether a captured row is written back to `T` (it has a column that keeps values as given). */
export function rewritten(t: ReplicatedTable): boolean {
  let r = rewrite.get(t);
  if (r === undefined) rewrite.set(t, (r = t.schema.columns.some((c) => c.affinity === "ANY" || c.affinity === "BLOB")));
  return r;
}
