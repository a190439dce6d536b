/**
 * The local write path, one for `upsert`, `upsertMany` and `transaction`: check no other replica
 * took the database over → validate → stamp (sequence + the transaction's one clock stamp) →
 * store the patch and merge it into `T` → COMMIT → publish (publisher.ts: our own head, waiters,
 * the merge event, the batch to every neighbour). Every patch of one transaction belongs to one
 * group and carries one stamp, so the transaction wins or loses as a whole against a concurrent
 * one. (The patch rows hold the newest sequence and clock; bookkeeping.ts records them at the
 * steps that can delete rows.) Nothing leaves the process before the commit; a failure writes
 * nothing and uses no sequence number.
 */
import type { Bookkeeping } from "./bookkeeping.js";
import type { CaptureDrain, DrainHost } from "./capture-drain.js";
import type { CaptureQueue } from "./capture-queue.js";
import type { Catalog } from "./catalog.js";
import { MAX_TIMESTAMP, type HybridLogicalClock } from "./clock.js";
import type { SqlValue } from "./driver.js";
import { fromSqlite, isReplicError, ReplicError, ValidationError } from "./errors.js";
import { count, noEffects } from "./effects.js";
import type { Events } from "./events.js";
import type { GroupBounds } from "./group-bounds.js";
import type { Neighbours } from "./neighbours.js";
import { PatchBatcher } from "./patch-batcher.js";
import { DuplicateInBatchError } from "./patch-log.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import { keyText } from "./parked-rows.js";
import { encodedSizeBound, RowValidator } from "./row-validator.js";
import { describeKey, keyRecord, OutOfScopeError, type ResolvedScope } from "./scope.js";
import { formatToken } from "./token.js";
import type { Publisher } from "./publisher.js";
import type { TxBracket } from "./transaction.js";
import { PatchesEncoder } from "./wire/encoder.js";
import type { WireGroup } from "./wire/types.js";

export interface LocalWriteOptions {
  maxBatchPatches: number;
  limits: { maxMessageBytes: number; maxGroupPatches: number };
}

export interface LocalRooms {
  book: Bookkeeping;
  catalog: Catalog;
  clock: HybridLogicalClock;
  tx: TxBracket;
  neighbours: Neighbours;
  events: Events;
  bounds: GroupBounds;
  publisher: Publisher;
  opts: LocalWriteOptions;
  /** Captured tables (capture-drain.ts), when any: drained into the open transaction's group. */
  capture?: CaptureDrain;
  /** The rows this replica holds (scope.ts); a write outside fails with OUT_OF_SCOPE. */
  scope?: ResolvedScope;
}

export class LocalWriter {
  private readonly validator = new RowValidator();
  /** Tables with patch rows queued in the open transaction (written just before COMMIT). */
  private readonly queued = new Set<ReplicatedTable>();
  /** Tables written in the open transaction (for the merge event). */
  private readonly touched = new Set<ReplicatedTable>();
  /** Row keys written in the open transaction, per table, when someone listens to merge events. */
  private keys: Record<string, SqlValue[][]> | undefined;
  private count = 0;
  /** Encodes the transaction's patches as they are written, when someone is linked to get them. */
  private out: PatchBatcher | undefined;
  /** The open transaction's group: its first sequence now, its last one at commit. */
  private group: WireGroup = { peerId: 0, first: 0, last: 0 };
  /** The open transaction's one clock stamp, taken at its first write (0 before). */
  private stamp = 0;
  /** Reused for every local write: the engine does not keep it past the call. */
  private readonly scratch: LocalPatch = { table: undefined as unknown as ReplicatedTable, peerId: 0, seq: 0, patchedAt: 0, cols: [], values: [] };

  /** What the capture drain may do in the open transaction. */
  private readonly host: DrainHost;

  constructor(private readonly r: LocalRooms) {
    this.host = {
      book: r.book,
      catalog: r.catalog,
      room: () => r.opts.limits.maxGroupPatches - (r.book.seq - this.group.first + 1),
      stamp: () => this.takeStamp(),
      queue: (p) => {
        p.table.log.queue(p);
        this.queued.add(p.table);
      },
      noting: () => this.keys !== undefined || this.out !== undefined,
      note: (t, seq, patchedAt, cols, values) => {
        if (this.keys) (this.keys[t.name] ??= []).push(t.keyOf(cols, values));
        this.out?.add(t, r.book.peerId, seq, patchedAt, cols, values, this.group);
      },
      wrote: (t, n) => {
        this.count += n;
        this.touched.add(t);
      },
      explain: (err, t) => this.explain(err, t),
    };
  }

  /** The captured tables' queue, when any (paused while replic writes a table itself). */
  private get cap(): CaptureQueue | undefined {
    return this.r.capture?.queue;
  }

  upsert(table: string, row: Record<string, unknown>): string {
    const t = this.r.catalog.get(table);
    const values: SqlValue[] = [];
    const cols = this.check(t, row, values, this.r.book.seq + 1);
    if (this.r.tx.active) {
      // Plain SQL written earlier in this transaction is ordered before this write.
      this.drainCaptured();
      return this.write(t, cols, values);
    }
    return this.transaction(() => this.write(t, cols, values));
  }

  /**
   * Many rows of one table in one transaction and one batch, many rows per SQLite statement.
   * Any failure, a bad row included, writes nothing.
   */
  upsertMany(table: string, rows: readonly Record<string, unknown>[]): string[] {
    const t = this.r.catalog.get(table);
    if (!Array.isArray(rows)) throw new ValidationError("INVALID_ROW", "upsertMany() takes an array of rows", { table });
    // Outside a transaction: validate, write and encode row by row in a new one. Inside one:
    // validate everything first and write under a savepoint.
    if (!this.r.tx.active) return this.transaction(() => this.quiet(() => this.writeMany(t, rows)));
    this.drainCaptured();
    const { book } = this.r;
    const values: SqlValue[][] = new Array(rows.length);
    const cols: number[][] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      values[i] = [];
      cols[i] = this.check(t, rows[i]!, values[i]!, book.seq + 1 + i);
    }
    for (const q of this.queued) q.log.flush(); // the savepoint must not take them along
    const highestBefore = book.highestMark();
    const keysBefore = this.keys?.[t.name]?.length ?? 0;
    return this.r.tx.savepoint(
      () => {
        const first = book.seq + 1;
        const stamps: number[] = new Array(rows.length);
        const cap = this.cap;
        cap?.pause();
        try {
          const seen = this.repeats(t);
          for (let i = 0; i < rows.length; i++) {
            seen?.(cols[i]!, values[i]!);
            stamps[i] = this.stage(t, first + i, cols[i]!, values[i]!);
          }
          t.flush();
          this.settle(t);
        } catch (err) {
          t.discard();
          throw this.explain(err, t);
        } finally {
          cap?.resume();
        }
        const tokens: string[] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          this.out?.add(t, book.peerId, first + i, stamps[i]!, cols[i]!, values[i]!, this.group);
          tokens[i] = formatToken(book.peerId, first + i);
        }
        book.seq = first + rows.length - 1;
        this.count += rows.length;
        this.touched.add(t);
        return tokens;
      },
      () => {
        book.restoreHighest(highestBefore);
        // The merge event names only rows written.
        if (this.keys?.[t.name]) {
          if (keysBefore === 0) delete this.keys[t.name];
          else this.keys[t.name]!.length = keysBefore;
        }
      },
    );
  }

  /**
   * Runs `fn` in one SQLite transaction; every write inside commits together and is sent as one
   * batch. If `fn` throws, nothing is written or sent and no sequence number is used.
   */
  transaction<T>(fn: () => T): T {
    const { tx, book, neighbours, opts } = this.r;
    if (tx.active) return fn();
    const seqBefore = book.seq;
    const highestBefore = book.highestMark();
    this.group = { peerId: book.peerId, first: seqBefore + 1, last: seqBefore };
    this.stamp = 0;
    this.count = 0;
    this.touched.clear();
    this.keys = this.r.events.has("merge") ? Object.create(null) : undefined;
    this.out = neighbours.size > 0 ? new PatchBatcher(opts.maxBatchPatches, opts.limits.maxMessageBytes) : undefined;
    let result: T;
    /** `fn` and the patch rows are done: a failure now is COMMIT's. */
    let ran = false;
    try {
      result = tx.run(
        () => {
          // Another replica opened this database since our last write: stop before writing anything.
          book.fence();
          // Plain SQL committed before this transaction joins its group; so does what `fn` writes.
          this.drainCaptured();
          const value = fn();
          if (value instanceof Promise) throw new ReplicError("TRANSACTION", "transaction() takes a synchronous function");
          this.drainCaptured();
          for (const t of this.queued) {
            try {
              t.log.flush();
            } catch (err) {
              throw this.explain(err, t);
            }
          }
          this.queued.clear();
          // The group: its bounds are kept, so serving names them to whoever asks for a part.
          this.group.last = book.seq;
          const size = this.group.last - this.group.first + 1;
          if (size > opts.limits.maxGroupPatches) {
            throw new ValidationError("GROUP_TOO_LARGE", `a transaction of ${size} patches exceeds the ${opts.limits.maxGroupPatches}-patch group limit (limits.maxGroupPatches)`, {});
          }
          if (size > 1) this.r.bounds.record(this.group);
          ran = true;
          return value;
        },
        () => {
          for (const t of this.queued) t.discard();
          this.queued.clear();
          this.r.catalog.visibility.discard();
          book.seq = seqBefore;
          book.restoreHighest(highestBefore);
          this.out = undefined;
        },
      );
    } catch (err) {
      throw this.explainCommit(ran ? fromSqlite(err) : err);
    }
    this.committed();
    return result;
  }

  /** After COMMIT: what the transaction did, published (our head, waiters, the merge event, the batch). */
  private committed(): void {
    const e = noEffects(true, undefined);
    const out = this.out;
    this.out = undefined;
    e.written = this.count;
    count(e, "patches_local_total", this.count);
    e.rows = this.r.catalog.visibility.take();
    count(e, "rows_released_total", e.rows.length); // a local write parks nothing: it fails instead
    e.tables = [...this.touched].map((t) => t.name);
    e.keys = this.keys;
    this.keys = undefined;
    if (out) e.outgoing = (version) => out.messagesFor(version);
    this.r.publisher.publish(e, this.r.book.seq);
  }

  /**
   * Validates a row, refuses a row outside the replica's scope, and refuses up front a patch no
   * receiver would accept: alone in a message with its table's names, under sequence `seq`,
   * stamped with the widest timestamp.
   */
  private check(t: ReplicatedTable, row: Record<string, unknown>, values: SqlValue[], seq: number): number[] {
    const cols = this.validator.validate(t, row, values);
    const scope = this.r.scope;
    if (scope !== undefined && !scope.covers(t, cols, values)) {
      const key = keyRecord(t, cols, values);
      throw new OutOfScopeError(`"${t.name}" ${describeKey(key)} is outside this replica's scope: nothing was written`, t.name, key);
    }
    const limit = this.r.opts.limits.maxMessageBytes;
    if (encodedSizeBound(values) + encodedSizeBound(t.columnNames) + 3 * t.name.length + 64 > limit) {
      const e = new PatchesEncoder(1024);
      e.add(e.addTable(t.name, t.columnNames), this.r.book.peerId, seq, MAX_TIMESTAMP, cols, values);
      const size = e.finish().length;
      if (size > limit) {
        throw new ValidationError("PATCH_TOO_LARGE", `a patch of ${size} bytes for "${t.name}" exceeds the ${limit}-byte message limit`, {
          table: t.name,
        });
      }
    }
    return cols;
  }

  private write(t: ReplicatedTable, cols: number[], values: SqlValue[]): string {
    const { book } = this.r;
    const seq = book.seq + 1;
    const p = this.stampPatch(t, seq, cols, values);
    const patchedAt = p.patchedAt;
    // The patch row is queued and written many per statement at commit (nothing reads T_patches
    // inside a local transaction but the merge probe, which flushes first); the row of T is
    // written now, so reads inside the transaction see it.
    const cap = this.cap;
    try {
      t.log.queue(p);
      this.queued.add(t);
      cap?.pause();
      // Our clock is above every timestamp merged so far unless a far-ahead remote clock was refused.
      t.rows.merge(p, book.isNewest(patchedAt, p.peerId, seq));
      this.settle(t);
    } catch (err) {
      // SQLite undid the failed statement; undo the patch too, so a caller that catches this
      // inside transaction() and goes on has written nothing and uses no sequence number.
      t.log.unstore(p);
      throw this.explain(err, t);
    } finally {
      cap?.resume();
    }
    book.seq = seq;
    book.noteMerged(patchedAt, book.peerId, seq);
    this.count++;
    this.touched.add(t);
    if (this.keys) (this.keys[t.name] ??= []).push(t.keyOf(cols, values));
    this.out?.add(t, book.peerId, seq, patchedAt, cols, values, this.group);
    return formatToken(book.peerId, seq);
  }

  /** `fn` with capture switched off (replic's own writes to `T` are never captured). */
  private quiet<T>(fn: () => T): T {
    const cap = this.cap;
    return cap ? cap.quiet(fn) : fn();
  }

  /**
   * Stamps and drains what plain SQL wrote to captured tables and committed (or wrote earlier in
   * the open transaction), as one group in a transaction of its own.
   */
  flushCaptured(): void {
    const cap = this.cap;
    if (!cap || !cap.pending()) return;
    // A backlog beyond the group limit drains as several groups.
    for (let seq = -1; seq !== this.r.book.seq && cap.pending(); ) {
      seq = this.r.book.seq;
      this.transaction(() => undefined);
    }
  }

  /** Inside the open transaction: every queued capture entry becomes a patch of its group. */
  private drainCaptured(): void {
    this.r.capture?.drain(this.host);
  }

  /** upsertMany in its own transaction: nothing is kept per row beyond its token. */
  private writeMany(t: ReplicatedTable, rows: readonly Record<string, unknown>[]): string[] {
    const { book } = this.r;
    const tokens: string[] = new Array(rows.length);
    const seen = this.repeats(t);
    try {
      for (let i = 0; i < rows.length; i++) {
        const values: SqlValue[] = [];
        const seq = book.seq + 1;
        const cols = this.check(t, rows[i]!, values, seq);
        seen?.(cols, values);
        const patchedAt = this.stage(t, seq, cols, values);
        book.seq = seq;
        this.count++;
        this.out?.add(t, book.peerId, seq, patchedAt, cols, values, this.group);
        tokens[i] = formatToken(book.peerId, seq);
      }
      t.flush();
      this.settle(t);
    } catch (err) {
      t.discard();
      throw this.explain(err, t);
    }
    this.touched.add(t);
    return tokens;
  }

  /**
   * For a table with constraints: a function to call before staging each row of a batch, which
   * settles the rows staged so far when this row's key repeats one of them, so every write is
   * checked as SQLite would check it, statement by statement (a batch is settled once otherwise).
   */
  private repeats(t: ReplicatedTable): ((cols: number[], values: SqlValue[]) => void) | undefined {
    if (!t.rows.guard) return undefined;
    const seen = new Set<string>();
    return (cols, values) => {
      const k = keyText(t.keyOf(cols, values));
      if (seen.has(k)) {
        t.flush();
        this.settle(t);
        seen.clear();
      }
      seen.add(k);
    };
  }

  /**
   * Shows the rows just written to a table with constraints (visibility.ts). A write that would
   * leave a row parked fails with the constraint error instead, and what the check wrote is undone.
   */
  private settle(t: ReplicatedTable): void {
    const v = this.r.catalog.visibility;
    if (!v.pendingRows) return;
    t.log.flush();
    this.r.tx.savepoint(
      () => v.settle(true),
      () => {},
    );
  }

  /** Stamps a patch and queues it (patch row and merge) for batched writing; returns its timestamp. */
  private stage(t: ReplicatedTable, seq: number, cols: number[], values: SqlValue[]): number {
    const { book } = this.r;
    const p = this.stampPatch(t, seq, cols, values);
    const newest = book.isNewest(p.patchedAt, p.peerId, seq);
    t.log.queue(p);
    t.rows.queue(p, newest);
    if (newest) book.noteMerged(p.patchedAt, p.peerId, seq);
    if (this.keys) (this.keys[t.name] ??= []).push(t.keyOf(cols, values));
    return p.patchedAt;
  }

  /** The reused scratch patch, filled for a new local write with the transaction's stamp. */
  private stampPatch(t: ReplicatedTable, seq: number, cols: number[], values: SqlValue[]): LocalPatch {
    const p = this.scratch;
    p.table = t;
    p.peerId = this.r.book.peerId;
    p.seq = seq;
    p.patchedAt = this.takeStamp();
    p.cols = cols;
    p.values = values;
    return p;
  }

  /** The transaction's one clock stamp: its first write takes it. */
  private takeStamp(): number {
    if (this.stamp === 0) this.stamp = this.r.clock.next();
    return this.stamp;
  }

  /** A failed statement as the caller should see it. */
  private explain(err: unknown, t: ReplicatedTable): unknown {
    // Our own (peer, seq) already stored: someone else wrote under our id into this database.
    if (err instanceof DuplicateInBatchError) return this.r.book.supersededError();
    if (isReplicError(err)) return err;
    return fromSqlite(err, t.name);
  }

  /** A failed transaction: another replica on this database wins over every other explanation. */
  private explainCommit(err: unknown): unknown {
    const { book, tx } = this.r;
    let superseded = false;
    try {
      superseded = book.superseded();
    } catch {
      // cannot tell; report the original error
    }
    if (superseded) {
      tx.broken = book.supersededError();
      return tx.broken;
    }
    return err;
  }
}
