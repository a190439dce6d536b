/**
 * The inbound path: bytes from a neighbour, read top-down.
 *   decode → map onto the local schema → store and merge in one transaction → advance heads and
 *   waiters → emit → relay → repair.
 * Patches of our own origin are refused (identity.ts); patches stamped beyond the drift bound are
 * held (held-patches.ts); patches older than the collection horizon are refused (staleness.ts).
 * A message that fails anywhere writes nothing and throws a typed error.
 */
import { encodeAlien, type AlienPatch } from "./alien-patch.js";
import { aliensOf, keepAliens, type MergeResult } from "./alien-intake.js";
import { unknownColumns } from "./alien-mapping.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { SqlValue } from "./driver.js";
import type { Catalog } from "./catalog.js";
import { msFromTimestamp, timestampFromMs, type HybridLogicalClock } from "./clock.js";
import { fromSqlite, isReplicError } from "./errors.js";
import type { Events } from "./events.js";
import type { GapRepair } from "./gap-repair.js";
import type { HeldPatches } from "./held-patches.js";
import type { IdentityGuard } from "./identity.js";
import type { Metrics } from "./metrics.js";
import type { Link, Neighbours } from "./neighbours.js";
import type { ResolvedOptions } from "./options.js";
import type { Origins } from "./origins.js";
import type { Outbox } from "./outbox.js";
import { DuplicateInBatchError } from "./patch-log.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import type { Staleness } from "./staleness.js";
import type { TxBracket } from "./transaction.js";
import type { Waiters } from "./waiters.js";
import { decodeWire } from "./wire/decoder.js";
import type { HeartbeatMessage, PatchesMessage, WireMessage } from "./wire/types.js";
import { mapPatches, type MappedPatches } from "./wire-mapping.js";

export interface InboundRooms {
  book: Bookkeeping;
  catalog: Catalog;
  clock: HybridLogicalClock;
  tx: TxBracket;
  origins: Origins;
  neighbours: Neighbours;
  gaps: GapRepair;
  outbox: Outbox;
  waiters: Waiters;
  events: Events;
  metrics: Metrics;
  staleness: Staleness;
  identity: IdentityGuard;
  held: HeldPatches;
  alien: AlienStore;
  opts: ResolvedOptions;
}

export class Inbound {
  /** Per neighbour, the highest of our own sequence it advertised beyond ours (raised once each). */
  private readonly advertisedConflict = new Map<number, number>();

  constructor(private readonly r: InboundRooms) {}

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
    if (link) link.lastContact = opts.now();
    try {
      if (msg.kind === "patches") this.onPatches(msg, link);
      else if (msg.kind === "heartbeat") this.onHeartbeat(msg, link);
      else if (link) this.r.outbox.serve(link, msg.ranges);
    } catch (err) {
      metrics.inc("receive_errors_total");
      throw err;
    } finally {
      this.r.outbox.flush();
    }
  }

  private onPatches(msg: PatchesMessage, from: Link | undefined): void {
    this.apply(mapPatches(this.r.catalog, msg), from, false);
  }


  /** Stores and merges patches in one transaction, then accounts, relays and repairs. */
  private apply(m: MappedPatches, from: Link | undefined, releasing: boolean): void {
    const { metrics, origins, waiters, gaps, events, outbox, opts, identity } = this.r;
    const alienOf = aliensOf(m);
    let result: MergeResult;
    try {
      result = this.mergeInTransaction(m, alienOf, from, true, releasing);
    } catch (err) {
      // A patch repeated inside one message defeats batching: redo it one patch at a time.
      if (!(err instanceof DuplicateInBatchError)) throw err;
      result = this.mergeInTransaction(m, alienOf, from, false, releasing);
    }
    const { applied, kept } = result;
    metrics.inc("patches_applied_total", applied.length);
    metrics.inc("patches_duplicate_total", result.duplicates);
    metrics.inc("patches_too_old_total", result.tooOld);
    metrics.inc("patches_held_total", result.held);
    metrics.inc("patches_held_refused_total", result.heldRefused);
    metrics.inc("patches_own_refused_total", result.own);
    if (releasing) metrics.inc("patches_released_total", applied.length + kept.length);
    metrics.inc("patches_alien_kept_total", kept.length + (alienOf ? applied.filter((p) => alienOf.has(p)).length : 0));
    if (result.ownConflict) identity.raise(result.ownConflict);
    for (const [origin, n] of result.conflicts) {
      metrics.inc("patches_conflicting_total", n);
      identity.raise(`${n} patch(es) differ from the stored ones under the same sequence: two writers use this id`, origin);
    }
    if (from && result.sendBack.length > 0) outbox.push([from], result.sendBack);
    if (result.replaced.length > 0) outbox.push([...this.r.neighbours.links.values()].filter((l) => l !== from), result.replaced);
    const changed = result.replaced.length > 0 ? [...applied, ...result.replaced] : applied;
    if (changed.length > 0 && events.has("merge")) events.emit("merge", { local: false, patches: changed.length, ...touchedRows(changed) });
    if (applied.length === 0 && kept.length === 0) return;
    const advanced = new Set<number>();
    for (const p of applied) advanced.add(p.peerId);
    for (const a of kept) advanced.add(a.peerId);
    for (const id of advanced) waiters.advance(id, origins.contiguous(id));
    const now = opts.now();
    gaps.settle(now);
    outbox.relay(applied, from, alienOf, kept);
    // Streaming catch-up: ask for the next window as soon as this one landed.
    if (gaps.idle || applied.length >= opts.maxBatchPatches) gaps.run(now);
  }

  /**
   * One transaction: classify each patch, store and merge the mergeable ones (batched: many rows
   * per statement; otherwise one statement per patch), hold the far-future ones, advance heads,
   * persist. On any error everything is rolled back and the in-memory heads re-read.
   */
  private mergeInTransaction(
    m: MappedPatches,
    alienOf: Map<LocalPatch, AlienPatch> | undefined,
    from: Link | undefined,
    batched: boolean,
    releasing: boolean,
  ): MergeResult {
    const { book, tx } = this.r;
    const highestBefore = book.highestTs;
    const heldBefore = this.r.held.count;
    // Origins of alien patches of unknown tables are touched too.
    const restoreOrigins = this.r.origins.snapshot([...m.patches.map((p) => p.peerId), ...(m.aliens ?? []).map((a) => a.peerId)]);
    const touched = new Set<ReplicatedTable>();
    try {
      return tx.run(
        () => this.merge(m, alienOf, from, batched, releasing, touched),
        () => {
          for (const t of touched) t.discard();
          book.highestTs = highestBefore;
          this.r.held.count = heldBefore;
          this.r.alien.recount();
          restoreOrigins();
        },
      );
    } catch (err) {
      if (err instanceof DuplicateInBatchError) throw err;
      if (!isReplicError(err) && book.superseded()) throw (tx.broken = book.supersededError());
      throw fromSqlite(err);
    }
  }

  private merge(
    m: MappedPatches,
    alienOf: Map<LocalPatch, AlienPatch> | undefined,
    from: Link | undefined,
    batched: boolean,
    releasing: boolean,
    touched: Set<ReplicatedTable>,
  ): MergeResult {
    const { book, origins, held, staleness, opts, alien } = this.r;
    const patches = m.patches;
    const selfId = book.peerId;
    const holdAbove = timestampFromMs(opts.now() + opts.maxClockDriftMs);
    const res: MergeResult = {
      applied: [],
      kept: [],
      duplicates: 0,
      tooOld: 0,
      held: 0,
      heldRefused: 0,
      own: 0,
      ownConflict: undefined,
      conflicts: new Map(),
      sendBack: [],
      replaced: [],
    };
    const heldNow: LocalPatch[] = [];
    for (const p of patches) {
      if (p.peerId === selfId) {
        // Never merge our own origin from outside: echoes are duplicates, anything else a second writer.
        const conflict = this.ownPatchConflict(p);
        if (conflict) {
          res.own++;
          res.ownConflict = conflict;
        } else res.duplicates++;
        continue;
      }
      const origin = origins.find(p.peerId);
      if (origin && origin.has(p.seq)) {
        if (releasing) res.duplicates++;
        else this.duplicate(p, res, touched);
        continue;
      }
      if (origin && !releasing && origin.held.has(p.seq)) {
        res.duplicates++;
        continue;
      }
      if (p.patchedAt < book.gcHorizon) {
        // Later patches of this row may have been collected: merging could go silently wrong.
        res.tooOld++;
        staleness.noteTooOld(p.peerId, p.seq);
        continue;
      }
      if (p.patchedAt > holdAbove) {
        heldNow.push(p);
        continue;
      }
      const newest = p.patchedAt > book.highestTs;
      if (batched) {
        // A repeat inside this message surfaces as DuplicateInBatchError at flush.
        p.table.log.queue(p);
        p.table.rows.queue(p, newest);
        touched.add(p.table);
      } else {
        if (!p.table.log.store(p, true)) {
          res.duplicates++;
          continue;
        }
        p.table.rows.merge(p, newest);
      }
      if (newest) book.highestTs = p.patchedAt;
      res.applied.push(p);
      // The whole patch is kept too when part of it is unknown here.
      const a = alienOf?.get(p);
      if (a) alien.keep(a, unknownColumns(a, p.table.schema.columnIndex));
    }
    for (const t of touched) t.flush();
    const heldAlien: AlienPatch[] = [];
    if (m.aliens) keepAliens(this.r, m.aliens, releasing, holdAbove, res, heldAlien);
    // Held whole: an alien patch as received (after the others), any other as the patch it is.
    const holdOne = (peerId: number, seq: number, store: () => boolean) => {
      if (held.count >= opts.maxHeldPatches) res.heldRefused++;
      else if (store()) {
        origins.get(peerId).held.add(seq);
        res.held++;
      } else res.duplicates++;
    };
    for (const p of heldNow) {
      const a = alienOf?.get(p);
      if (a) heldAlien.push(a);
      else holdOne(p.peerId, p.seq, () => held.hold(p));
    }
    for (const a of heldAlien) holdOne(a.peerId, a.seq, () => held.holdBytes(a.peerId, a.seq, a.patchedAt, encodeAlien(a)));
    if (releasing) {
      for (const p of [...res.applied, ...res.kept]) {
        held.release(p.peerId, p.seq);
        origins.find(p.peerId)?.held.delete(p.seq);
      }
    }
    if (res.applied.length > 0 || res.kept.length > 0) {
      const changed = new Set<number>();
      let newestTs = 0;
      // Alien patches of unknown tables count as held too (none on the usual path).
      const all: readonly { peerId: number; seq: number; patchedAt: number }[] = res.kept.length > 0 ? [...res.applied, ...res.kept] : res.applied;
      for (const p of all) {
        origins.get(p.peerId).add(p.seq);
        changed.add(p.peerId);
        if (p.patchedAt > newestTs) newestTs = p.patchedAt;
      }
      for (const id of changed) book.savePeer(origins.get(id).head());
      this.observeClock(newestTs, from);
      book.persist(this.r.clock.current, this.r.catalog.tables.keys());
    }
    return res;
  }

  /**
   * A patch under a sequence already held: a plain duplicate when it carries the stored
   * timestamp. Another timestamp means two writers used one peer id: every replica keeps the
   * version with the higher timestamp (so honest replicas converge), tells the sender when its
   * own version wins, and passes a winning newcomer on. (Two versions with equal timestamps
   * cannot be told apart by this check.)
   */
  private duplicate(p: LocalPatch, res: MergeResult, touched: Set<ReplicatedTable>): void {
    const { catalog, book } = this.r;
    for (const t of touched) t.flush(); // the probe must see queued patches
    const stored = catalog.stored(p.peerId, p.seq, p.table);
    if (stored === undefined || stored.stamp === p.patchedAt) {
      res.duplicates++;
      return;
    }
    res.conflicts.set(p.peerId, (res.conflicts.get(p.peerId) ?? 0) + 1);
    const { table } = stored;
    const versions: LocalPatch[] = [];
    table.log.readRange(table, p.peerId, p.seq, p.seq, versions);
    const old = versions[0]!;
    if (p.patchedAt < stored.stamp) {
      res.sendBack.push(old);
      return;
    }
    table.log.unstore(old);
    p.table.log.store(p, false);
    table.rows.rebuild(table.keyOf(old.cols, old.values), book.gcHorizon === 0);
    p.table.rows.merge(p, false);
    if (p.patchedAt > book.highestTs) book.highestTs = p.patchedAt;
    res.replaced.push({ ...p });
  }

  /** Why a patch of our own origin cannot be ours, or undefined when it is a plain echo. */
  private ownPatchConflict(p: LocalPatch): string | undefined {
    const { book, catalog, alien } = this.r;
    const kept = alien.stampOf(p.peerId, p.seq);
    if (kept !== undefined && kept === p.patchedAt) return undefined;
    if (p.seq > book.seq) return `received patch ${p.peerId}.${p.seq}, beyond this replica's own sequence ${book.seq}: another writer uses this id`;
    const stored = catalog.stored(p.peerId, p.seq);
    if (stored === undefined || stored.stamp === p.patchedAt) return undefined; // an echo (or collected here: an old one)
    return `received patch ${p.peerId}.${p.seq}, which differs from the one this replica wrote: another writer uses this id`;
  }

  private observeClock(remote: number, from: Link | undefined): void {
    const o = this.r.clock.observe(remote);
    if (o.beyondBound) {
      this.r.metrics.inc("clock_drift_rejections_total");
      this.r.opts.logger?.debug?.(`replic: remote clock ${o.aheadMs} ms ahead (peer ${from?.peerId ?? "?"}); not followed`);
    }
  }

  private onHeartbeat(msg: HeartbeatMessage, link: Link | undefined): void {
    if (!link) return; // heads from an unlinked sender cannot be used to ask it for anything
    const { metrics, opts, neighbours, book, identity, gaps } = this.r;
    link.clockDriftMs = msFromTimestamp(msg.clock) - opts.now();
    link.schema = msg.schema ?? null;
    metrics.set("peer_clock_drift_seconds", link.clockDriftMs / 1000, { peer: link.peerId });
    this.observeClock(msg.clock, link);
    const ignored = neighbours.takeHeads(link, msg.heads, opts.maxOrigins);
    if (ignored > 0) metrics.inc("heads_ignored_total", ignored);
    const mine = link.heads.get(book.peerId);
    if (mine && mine.highest > book.seq && mine.highest > (this.advertisedConflict.get(link.peerId) ?? 0)) {
      this.advertisedConflict.set(link.peerId, mine.highest);
      identity.raise(`neighbour ${link.peerId} holds patches of this id up to ${mine.highest}, beyond this replica's own sequence ${book.seq}`);
    }
    gaps.run(opts.now());
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
        const msg = decodeWire(row.bytes, { maxMessageBytes: Number.MAX_SAFE_INTEGER, maxPatches: 1 });
        if (msg.kind !== "patches") continue;
        const m = mapPatches(catalog, msg);
        all.patches.push(...m.patches);
        if (m.aliens) (all.aliens ??= []).push(...m.aliens);
      } catch (err) {
        // A value no longer fits its column (a migration since): it stays held.
        opts.logger?.warn(`replic: held patch ${row.peerId}.${row.seq} cannot be merged yet`, err);
      }
    }
    if (all.patches.length > 0 || all.aliens) this.apply(all, undefined, true);
  }

  forgetLink(peerId: number): void {
    this.advertisedConflict.delete(peerId);
  }
}

/** The tables and row keys some patches touched, for the merge event. */
export function touchedRows(patches: readonly LocalPatch[]): { tables: string[]; keys: Record<string, SqlValue[][]> } {
  const keys: Record<string, SqlValue[][]> = Object.create(null);
  for (const p of patches) (keys[p.table.name] ??= []).push(p.table.keyOf(p.cols, p.values));
  return { tables: Object.keys(keys), keys };
}
