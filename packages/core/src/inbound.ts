/**
 * The inbound path: bytes from a neighbour, read top-down.
 *   decode → map onto the local schema → commit (intake, then store and merge, in one
 *   transaction, returning its effects) → publish (publisher.ts).
 * Held patches whose time has come take the same path from the commit on (releaseHeld).
 * Intake (intake.ts, alien-intake.ts) classifies each patch once; a group (take-group.ts) merges
 * whole, in the transaction that brings its last part, or waits for the rest. A message that
 * fails anywhere writes nothing and throws a typed error. A heartbeat or a heads request goes to
 * heartbeat-intake.ts; a request for ranges is served by outbox.ts.
 */
import { encodeAlien, STORED_LIMITS, type AlienPatch } from "./alien-patch.js";
import { aliensOf, keepAliens } from "./alien-intake.js";
import { unknownColumns } from "./alien-mapping.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Catalog } from "./catalog.js";
import { timestampFromMs, type HybridLogicalClock } from "./clock.js";
import { observeRemoteClock } from "./clock-watch.js";
import type { SqlValue } from "./driver.js";
import { count, noEffects, type Effects } from "./effects.js";
import { fromSqlite, isReplicError } from "./errors.js";
import type { GroupBounds } from "./group-bounds.js";
import type { HeartbeatIntake } from "./heartbeat-intake.js";
import type { HeldPatches } from "./held-patches.js";
import type { IncompleteGroups } from "./incomplete-groups.js";
import { intake } from "./intake.js";
import type { Metrics } from "./metrics.js";
import type { Link, Neighbours } from "./neighbours.js";
import type { Logger } from "./options.js";
import type { Origins } from "./origins.js";
import type { Outbox } from "./outbox.js";
import type { MappedPatches } from "./patch-mapping.js";
import type { Publisher } from "./publisher.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import { describeKey, keyRecord, OutOfScopeError } from "./scope.js";
import type { Staleness } from "./staleness.js";
import { readParts, takeGroup, WINDOW_ROWS, type CompleteGroup, type TakeGroupRooms } from "./take-group.js";
import type { TxBracket } from "./transaction.js";
import { decodeWire, wireVersionOf } from "./wire/decoder.js";
import type { DecodeLimits, WireGroup, WireMessage } from "./wire/types.js";
import { mapPatches } from "./wire-mapping.js";

export interface InboundOptions {
  limits: DecodeLimits;
  now: () => number;
  maxClockDriftMs: number;
  maxHeldPatches: number;
  maxIncompletePatches: number;
  maxGroupInMemory: number;
  logger: Logger | undefined;
}

export interface InboundRooms {
  book: Bookkeeping;
  catalog: Catalog;
  clock: HybridLogicalClock;
  tx: TxBracket;
  origins: Origins;
  neighbours: Neighbours;
  outbox: Outbox;
  metrics: Metrics;
  staleness: Staleness;
  held: HeldPatches;
  alien: AlienStore;
  incomplete: IncompleteGroups;
  bounds: GroupBounds;
  publisher: Publisher;
  /** Heartbeats and heads requests received (heartbeat-intake.ts). */
  heartbeatsIn: HeartbeatIntake;
  /** Whether a `merge` listener wants the keys of rows merged (a group merged from storage lists none otherwise). */
  wantsKeys: () => boolean;
  opts: InboundOptions;
}

export class Inbound {
  private readonly groups: TakeGroupRooms;

  constructor(private readonly r: InboundRooms) {
    const { maxIncompletePatches, maxGroupInMemory } = r.opts;
    this.groups = { catalog: r.catalog, origins: r.origins, incomplete: r.incomplete, bounds: r.bounds, maxIncompletePatches, maxGroupInMemory };
  }

  receive(fromPeerId: number, bytes: Uint8Array): void {
    const { metrics, neighbours, opts } = this.r;
    metrics.inc("bytes_in_total", bytes?.length ?? 0);
    let msg: WireMessage;
    try {
      msg = decodeWire(bytes, opts.limits);
    } catch (err) {
      metrics.inc("decode_errors_total");
      throw err;
    }
    metrics.inc("messages_in_total", 1, { kind: msg.kind });
    const link = neighbours.get(fromPeerId);
    if (link) {
      link.lastContact = opts.now();
      neighbours.sawVersion(link, wireVersionOf(bytes), msg.kind === "heartbeat");
    }
    try {
      if (msg.kind === "patches") this.apply(this.allowed(mapPatches(this.r.catalog, msg), link), link);
      else if (msg.kind === "heartbeat") this.r.heartbeatsIn.take(msg, link);
      else if (msg.kind === "heads-request") this.r.heartbeatsIn.headsRequested(link);
      else if (link) this.r.outbox.serve(link, msg.ranges);
    } catch (err) {
      metrics.inc("receive_errors_total");
      if (isReplicError(err) && err.code === "GROUP_MISMATCH") metrics.inc("groups_refused_total");
      if (isReplicError(err) && err.code === "OUT_OF_SCOPE") this.refusedOutOfScope(err, link!);
      throw err;
    } finally {
      this.r.outbox.flush();
    }
  }

  /**
   * Authorization (scope.ts): a message from a neighbour with an `allow` is refused whole, before
   * anything is written, when one of its patches is outside it (an alien patch of a table unknown
   * here counts as outside when `allow` names that table: it cannot be checked).
   */
  private allowed(m: MappedPatches, link: Link | undefined): MappedPatches {
    const allow = link?.allow;
    if (allow === undefined) return m;
    for (const p of m.patches) {
      if (allow.covers(p.table, p.cols, p.values)) continue;
      const key = keyRecord(p.table, p.cols, p.values);
      throw new OutOfScopeError(
        `patch ${p.peerId}.${p.seq} from peer ${link!.peerId} writes "${p.table.name}" ${describeKey(key)}, outside what that peer may write: message refused`,
        p.table.name,
        key,
        link!.peerId,
      );
    }
    for (const a of m.aliens ?? []) {
      if (a.local !== undefined || !allow.names(a.table)) continue;
      throw new OutOfScopeError(`patch ${a.peerId}.${a.seq} from peer ${link!.peerId} writes "${a.table}", a table unknown here that its allow names: message refused`, a.table, {}, link!.peerId);
    }
    return m;
  }

  /** A message refused by `allow`: counted (metric and the link's status) and logged. */
  private refusedOutOfScope(err: Error, link: Link): void {
    link.outOfScope++;
    this.r.metrics.inc("messages_out_of_scope_total");
    this.r.opts.logger?.warn(`replic: ${err.message}`);
  }

  /** Commits patches (one transaction), then publishes what the commit did. */
  private apply(m: MappedPatches, from: Link | undefined): void {
    this.r.publisher.publish(this.commit(m, from), this.r.book.seq);
  }

  /**
   * One transaction: intake, then store and merge, advance heads, persist. On any error
   * everything is rolled back and the in-memory state put back.
   */
  private commit(m: MappedPatches, from: Link | undefined): Effects {
    const { book, tx, held, incomplete, alien, origins } = this.r;
    const highestBefore = book.highestMark();
    const heldBefore = held.count;
    const restoreIncomplete = incomplete.begin();
    // Every origin of the message; a completed group's stored parts are of these origins too.
    const restoreOrigins = origins.snapshot([...m.patches.map((p) => p.peerId), ...(m.aliens ?? []).map((a) => a.peerId)]);
    const touched = new Set<ReplicatedTable>();
    try {
      return tx.run(
        () => this.storeAndMerge(m, from, touched),
        () => {
          for (const t of touched) t.discard();
          this.r.catalog.visibility.discard();
          book.restoreHighest(highestBefore);
          held.count = heldBefore;
          restoreIncomplete();
          alien.recount();
          restoreOrigins();
        },
      );
    } catch (err) {
      // A patch already stored under a sequence intake saw free (DuplicateInBatchError), or any
      // other failure: another replica may have taken this database over.
      if (!isReplicError(err) && book.superseded()) throw (tx.broken = book.supersededError());
      throw fromSqlite(err);
    }
  }

  private storeAndMerge(m: MappedPatches, from: Link | undefined, touched: Set<ReplicatedTable>): Effects {
    const { book, origins, held, opts, catalog } = this.r;
    const e = noEffects(false, from);
    e.alienOf = aliensOf(m);
    const holdAbove = timestampFromMs(opts.now() + opts.maxClockDriftMs);
    // 1. Intake: each patch classified once (intake.ts; tables unknown here: alien-intake.ts).
    const take = intake(this.r, m.patches, holdAbove, e);
    const farAliens = m.aliens ? keepAliens(this.r, m.aliens, holdAbove, e) : [];
    // 2. Sequences merged here already: duplicates, or a second writer's version.
    for (const p of take.merged) this.duplicate(p, e, touched);
    // 3. Groups: a complete one merges whole; the others wait for the rest (take-group.ts).
    const complete: CompleteGroup[] = [];
    for (const g of take.groups) {
      const c = takeGroup(this.groups, g, e);
      if (c) complete.push(c);
    }
    // 4. Store and merge, many rows per statement.
    let newestTs = 0;
    for (const p of take.ready) this.merge(p, e, touched, true);
    for (const c of complete) {
      if (c.stored) this.mergeStored(c.stored, c.parts, e, touched);
      else for (const p of c.parts) this.merge(p, e, touched, true);
      if (c.patchedAt > newestTs) newestTs = c.patchedAt;
    }
    for (const t of touched) t.flush();
    // Rows of tables with constraints: shown when valid, parked otherwise (visibility.ts).
    catalog.visibility.settle(); // nothing to do unless a table with constraints was merged into
    e.rows = catalog.visibility.take();
    for (const c of e.rows) count(e, c.released ? "rows_released_total" : "rows_parked_total");
    // 5. Held whole: an alien patch as received, any other as the patch it is.
    const holdOne = (peerId: number, seq: number, store: () => boolean) => {
      if (held.count >= opts.maxHeldPatches) count(e, "patches_held_refused_total");
      else if (store()) {
        origins.get(peerId).held.add(seq);
        count(e, "patches_held_total");
      } else count(e, "patches_duplicate_total");
    };
    for (const p of take.farFuture) {
      const a = e.alienOf?.get(p);
      if (a) farAliens.push(a);
      else holdOne(p.peerId, p.seq, () => held.hold(p));
    }
    for (const a of farAliens) holdOne(a.peerId, a.seq, () => held.holdBytes(a.peerId, a.seq, a.patchedAt, encodeAlien(a)));
    count(e, "patches_applied_total", e.merged.length + e.fromStore);
    let alienKept = e.kept.length;
    if (e.alienOf) for (const p of e.merged) if (e.alienOf.has(p)) alienKept++;
    count(e, "patches_alien_kept_total", alienKept);
    // 6. Heads and high-water marks, in the same transaction.
    if (e.merged.length > 0 || e.kept.length > 0 || e.fromStore > 0) {
      for (const p of e.merged) {
        origins.get(p.peerId).add(p.seq);
        e.advanced.add(p.peerId);
        if (p.patchedAt > newestTs) newestTs = p.patchedAt;
      }
      for (const a of e.kept) {
        e.advanced.add(a.peerId);
        if (a.patchedAt > newestTs) newestTs = a.patchedAt;
      }
      for (const id of e.advanced) book.savePeer(origins.get(id).head());
      observeRemoteClock({ clock: this.r.clock, metrics: this.r.metrics, logger: opts.logger }, newestTs, from?.peerId);
      book.persist(this.r.clock.current, catalog.tables.keys());
    }
    return e;
  }

  /**
   * Queues one patch's row in the log and its merge into `T`; `listed` puts it in the effects
   * (relayed, announced), otherwise only counted (a group merged from storage).
   */
  private merge(p: LocalPatch, e: Effects, touched: Set<ReplicatedTable>, listed: boolean, whole?: AlienPatch): void {
    const { book, alien } = this.r;
    const newest = book.isNewest(p.patchedAt, p.peerId, p.seq);
    p.table.log.queue(p);
    p.table.rows.queue(p, newest);
    touched.add(p.table);
    if (newest) book.noteMerged(p.patchedAt, p.peerId, p.seq);
    // The whole patch is kept too when part of it is unknown here.
    const a = whole ?? e.alienOf?.get(p);
    if (a) alien.keep(a, unknownColumns(a, p.table.schema.columnIndex));
    if (listed) e.merged.push(p);
    else e.fromStore++;
  }

  /**
   * A completed group too large to read at once: its stored parts merge from storage, a few rows
   * at a time, in this transaction, in sequence order with the parts this message brought (so
   * each merges as the newest, without the late-patch probe). The stored ones are counted, not
   * listed (neighbours fetch them through gap repair); the keys of their rows are kept only when
   * a `merge` listener wants them.
   */
  private mergeStored(group: WireGroup, brought: LocalPatch[], e: Effects, touched: Set<ReplicatedTable>): void {
    const { incomplete, catalog, origins, wantsKeys } = this.r;
    const origin = origins.get(group.peerId);
    const keys = wantsKeys() ? (e.keys ??= Object.create(null) as Record<string, SqlValue[][]>) : undefined;
    const mine = brought.length > 1 ? [...brought].sort((x, y) => x.seq - y.seq) : brought;
    let next = 0;
    for (let from = group.first; from <= group.last; ) {
      const rows = incomplete.parts(group, from, WINDOW_ROWS);
      if (rows.length === 0) break;
      while (next < mine.length && mine[next]!.seq < rows[0]!.seq) this.merge(mine[next++]!, e, touched, true);
      const m = readParts(catalog, rows);
      const whole = aliensOf(m);
      for (const p of m.patches) {
        while (next < mine.length && mine[next]!.seq < p.seq) this.merge(mine[next++]!, e, touched, true);
        const a = whole?.get(p);
        this.merge(p, e, touched, false, a);
        if (a) count(e, "patches_alien_kept_total");
        origin.add(p.seq);
        if (keys) (keys[p.table.name] ??= []).push(p.table.keyOf(p.cols, p.values));
      }
      for (const t of touched) t.flush();
      from = rows[rows.length - 1]!.seq + 1;
    }
    while (next < mine.length) this.merge(mine[next++]!, e, touched, true);
    incomplete.remove(group, origin);
    e.advanced.add(group.peerId);
  }

  /**
   * A patch under a sequence already held: a plain duplicate when it carries the stored
   * timestamp. Another timestamp means two writers used one peer id: every replica keeps the
   * version with the higher timestamp (so honest replicas converge), tells the sender when its
   * own version wins, and passes a winning newcomer on. (Two versions with equal timestamps
   * cannot be told apart by this check.)
   */
  private duplicate(p: LocalPatch, e: Effects, touched: Set<ReplicatedTable>): void {
    const { catalog, book } = this.r;
    for (const t of touched) t.flush(); // the probe must see queued patches
    const stored = catalog.stored(p.peerId, p.seq, p.table);
    if (stored === undefined || stored.stamp === p.patchedAt) {
      count(e, "patches_duplicate_total");
      return;
    }
    count(e, "patches_conflicting_total");
    e.conflicting.set(p.peerId, (e.conflicting.get(p.peerId) ?? 0) + 1);
    const { table } = stored;
    const versions: LocalPatch[] = [];
    table.log.readRange(table, p.peerId, p.seq, p.seq, versions);
    const old = versions[0]!;
    if (p.patchedAt < stored.stamp) {
      e.sendBack.push(old);
      return;
    }
    table.log.unstore(old);
    p.table.log.store(p, false);
    table.rows.rebuild(table.keyOf(old.cols, old.values), book.gcHorizon === 0);
    p.table.rows.merge(p, false);
    book.noteMerged(p.patchedAt, p.peerId, p.seq);
    e.replaced.push({ ...p });
  }

  /** Merges held patches whose time has come (called every round). */
  releaseHeld(): void {
    const { held, opts, catalog } = this.r;
    if (held.count === 0) return;
    const rows = held.due(timestampFromMs(opts.now() + opts.maxClockDriftMs));
    if (rows.length === 0) return;
    const all: MappedPatches = { patches: [], aliens: undefined };
    for (const row of rows) {
      try {
        const msg = decodeWire(row.bytes, STORED_LIMITS);
        if (msg.kind !== "patches") continue;
        const m = mapPatches(catalog, msg);
        all.patches.push(...m.patches);
        if (m.aliens) (all.aliens ??= []).push(...m.aliens);
      } catch (err) {
        // A value no longer fits its column (a migration since): it stays held.
        opts.logger?.warn(`replic: held patch ${row.peerId}.${row.seq} cannot be merged yet`, err);
      }
    }
    if (all.patches.length === 0 && !all.aliens) return;
    try {
      this.apply(all, undefined);
    } catch (err) {
      if (!(isReplicError(err) && err.code === "GROUP_MISMATCH")) throw err;
      // Parts held from different messages disagree (a forged one among them): release them one
      // by one and drop those refused, or every round would fail on them.
      for (const p of all.patches) {
        try {
          this.apply({ patches: [p], aliens: undefined }, undefined);
        } catch (e) {
          if (!(isReplicError(e) && e.code === "GROUP_MISMATCH")) throw e;
          this.r.metrics.inc("groups_refused_total");
          this.r.tx.run(() => held.release(p.peerId, p.seq), () => {});
          this.r.origins.find(p.peerId)?.held.delete(p.seq);
          opts.logger?.warn(`replic: held patch ${p.peerId}.${p.seq} dropped`, e);
        }
      }
    }
  }

}
