/**
 * The inbound path: bytes from a neighbour, read top-down.
 *   decode → map onto the local schema → commit (intake, then store and merge, in one
 *   transaction, returning its effects) → publish (publisher.ts).
 * Intake classifies each patch once: our own origin (refused, identity.ts), a duplicate, older
 * than the collection horizon (refused, staleness.ts), stamped beyond the drift bound (held,
 * held-patches.ts), part of a group not complete yet (waits, incomplete-groups.ts), or
 * mergeable. A group merges whole, in the transaction that brings its last part. A message that
 * fails anywhere writes nothing and throws a typed error.
 */
import { encodeAlien, STORED_LIMITS, type AlienPatch } from "./alien-patch.js";
import { aliensOf, keepAliens } from "./alien-intake.js";
import { unknownColumns } from "./alien-mapping.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Catalog } from "./catalog.js";
import { msFromTimestamp, timestampFromMs, type HybridLogicalClock } from "./clock.js";
import { count, noEffects, type Effects } from "./effects.js";
import { fromSqlite, isReplicError, ReplicError } from "./errors.js";
import type { GapRepair } from "./gap-repair.js";
import type { GroupBounds } from "./group-bounds.js";
import type { Heartbeats } from "./heartbeats.js";
import type { HeldPatches } from "./held-patches.js";
import type { IdentityGuard } from "./identity.js";
import type { IncompleteGroups } from "./incomplete-groups.js";
import type { Metrics } from "./metrics.js";
import type { Link, Neighbours } from "./neighbours.js";
import type { ResolvedOptions } from "./options.js";
import type { OriginState, Origins } from "./origins.js";
import type { Outbox } from "./outbox.js";
import { DuplicateInBatchError } from "./patch-log.js";
import type { Publisher } from "./publisher.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import { describeKey, keyRecord, OutOfScopeError } from "./scope.js";
import type { Staleness } from "./staleness.js";
import type { TxBracket } from "./transaction.js";
import { decodeWire, wireVersionOf } from "./wire/decoder.js";
import { encodeWire, PatchesEncoder } from "./wire/encoder.js";
import { WIRE_VERSION, type HeartbeatMessage, type WireGroup, type WireMessage } from "./wire/types.js";
import type { MappedPatches } from "./patch-mapping.js";
import { mapPatches } from "./wire-mapping.js";

export interface InboundRooms {
  book: Bookkeeping;
  catalog: Catalog;
  clock: HybridLogicalClock;
  tx: TxBracket;
  origins: Origins;
  neighbours: Neighbours;
  gaps: GapRepair;
  outbox: Outbox;
  metrics: Metrics;
  staleness: Staleness;
  identity: IdentityGuard;
  held: HeldPatches;
  alien: AlienStore;
  incomplete: IncompleteGroups;
  bounds: GroupBounds;
  publisher: Publisher;
  heartbeats: Heartbeats;
  opts: ResolvedOptions;
}

export class Inbound {
  /** Per neighbour, the highest of our own sequence it advertised beyond ours (raised once each). */
  private readonly advertisedConflict = new Map<number, number>();
  /** Changes to origins' incomplete sets in the open transaction, undone (newest first) on rollback. */
  private incompleteUndo: Array<() => void> = [];

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
    if (link) {
      link.lastContact = opts.now();
      neighbours.sawVersion(link, wireVersionOf(bytes), msg.kind === "heartbeat");
    }
    try {
      if (msg.kind === "patches") this.apply(this.allowed(mapPatches(this.r.catalog, msg), link), link, false);
      else if (msg.kind === "heartbeat") this.onHeartbeat(msg, link);
      else if (msg.kind === "heads-request") this.onHeadsRequest(link);
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
  private apply(m: MappedPatches, from: Link | undefined, releasing: boolean): void {
    let e: Effects;
    try {
      e = this.commit(m, from, true, releasing);
    } catch (err) {
      // A patch repeated inside one message defeats batching: redo it one patch at a time.
      if (!(err instanceof DuplicateInBatchError)) throw err;
      e = this.commit(m, from, false, releasing);
    }
    this.r.publisher.publish(e, this.r.book.seq);
  }

  /**
   * One transaction: intake, then store and merge (batched: many rows per statement; otherwise
   * one statement per patch), advance heads, persist. On any error everything is rolled back and
   * the in-memory state put back.
   */
  private commit(m: MappedPatches, from: Link | undefined, batched: boolean, releasing: boolean): Effects {
    const { book, tx, held, incomplete, alien, origins } = this.r;
    const highestBefore = book.highestMark();
    const heldBefore = held.count;
    const restoreIncomplete = incomplete.snapshot();
    // Every origin of the message; a completed group's stored parts are of these origins too.
    const restoreOrigins = origins.snapshot([...m.patches.map((p) => p.peerId), ...(m.aliens ?? []).map((a) => a.peerId)]);
    const touched = new Set<ReplicatedTable>();
    this.incompleteUndo = [];
    try {
      return tx.run(
        () => this.storeAndMerge(m, from, batched, releasing, touched),
        () => {
          for (const t of touched) t.discard();
          this.r.catalog.visibility.discard();
          book.restoreHighest(highestBefore);
          held.count = heldBefore;
          restoreIncomplete();
          for (let i = this.incompleteUndo.length - 1; i >= 0; i--) this.incompleteUndo[i]!();
          alien.recount();
          restoreOrigins();
        },
      );
    } catch (err) {
      if (err instanceof DuplicateInBatchError) throw err;
      if (!isReplicError(err) && book.superseded()) throw (tx.broken = book.supersededError());
      throw fromSqlite(err);
    }
  }

  private storeAndMerge(m: MappedPatches, from: Link | undefined, batched: boolean, releasing: boolean, touched: Set<ReplicatedTable>): Effects {
    const { book, origins, held, staleness, opts, alien } = this.r;
    const e = noEffects(false, from);
    e.alienOf = aliensOf(m);
    const selfId = book.peerId;
    const holdAbove = timestampFromMs(opts.now() + opts.maxClockDriftMs);
    // 1. Intake: each patch classified once.
    const ready: LocalPatch[] = [];
    const farFuture: LocalPatch[] = [];
    const groups = new Map<string, { group: WireGroup; parts: LocalPatch[] }>();
    let lastGroup: { group: WireGroup; parts: LocalPatch[] } | undefined;
    let lastGroupOf: WireGroup | undefined;
    for (const p of m.patches) {
      if (p.peerId === selfId) {
        // Never merge our own origin from outside: echoes are duplicates, anything else a second writer.
        const conflict = this.ownPatchConflict(p);
        if (conflict) {
          count(e, "patches_own_refused_total");
          e.ownConflict = conflict;
        } else count(e, "patches_duplicate_total");
        continue;
      }
      const origin = origins.find(p.peerId);
      if (origin && origin.has(p.seq)) {
        if (releasing) count(e, "patches_duplicate_total");
        else this.duplicate(p, e, touched);
        continue;
      }
      if (origin && ((!releasing && origin.held.has(p.seq)) || origin.incomplete.has(p.seq))) {
        count(e, "patches_duplicate_total");
        continue;
      }
      if (p.patchedAt < book.gcHorizon) {
        // Later patches of this row may have been collected: merging could go silently wrong.
        count(e, "patches_too_old_total");
        staleness.noteTooOld(p.peerId, p.seq);
        continue;
      }
      if (p.patchedAt > holdAbove) {
        farFuture.push(p);
        continue;
      }
      if (p.group) {
        // A group's patches usually come together, under one object (released holds: several).
        if (p.group !== lastGroupOf) {
          const key = `${p.group.peerId}:${p.group.first}`;
          lastGroup = groups.get(key);
          if (!lastGroup) groups.set(key, (lastGroup = { group: p.group, parts: [] }));
          lastGroupOf = p.group;
        }
        lastGroup!.parts.push(p);
      } else ready.push(p);
    }
    // Alien patches of tables unknown here are kept now (they count as held, parts of groups too).
    const heldAlien: AlienPatch[] = [];
    if (m.aliens) keepAliens(this.r, m.aliens, releasing, holdAbove, e, heldAlien);
    // 2. Groups: a complete one joins the ready patches whole; the others wait for the rest.
    for (const { group, parts } of groups.values()) this.takeGroup(group, parts, ready, e, releasing);
    // 3. Store and merge.
    for (const p of ready) {
      const newest = book.isNewest(p.patchedAt, p.peerId, p.seq);
      if (batched) {
        // A repeat inside this message surfaces as DuplicateInBatchError at flush.
        p.table.log.queue(p);
        p.table.rows.queue(p, newest);
        touched.add(p.table);
      } else {
        if (!p.table.log.store(p, true)) {
          count(e, "patches_duplicate_total");
          continue;
        }
        p.table.rows.merge(p, newest);
      }
      if (newest) book.noteMerged(p.patchedAt, p.peerId, p.seq);
      e.merged.push(p);
      // The whole patch is kept too when part of it is unknown here.
      const a = e.alienOf?.get(p);
      if (a) alien.keep(a, unknownColumns(a, p.table.schema.columnIndex));
    }
    for (const t of touched) t.flush();
    // Rows of tables with constraints: shown when valid, parked otherwise (visibility.ts).
    const visibility = this.r.catalog.visibility;
    visibility.settle(); // nothing to do unless a table with constraints was merged into
    e.rows = visibility.take();
    for (const c of e.rows) count(e, c.released ? "rows_released_total" : "rows_parked_total");
    // Held whole: an alien patch as received (after the others), any other as the patch it is.
    const holdOne = (peerId: number, seq: number, store: () => boolean) => {
      if (held.count >= opts.maxHeldPatches) count(e, "patches_held_refused_total");
      else if (store()) {
        origins.get(peerId).held.add(seq);
        count(e, "patches_held_total");
      } else count(e, "patches_duplicate_total");
    };
    for (const p of farFuture) {
      const a = e.alienOf?.get(p);
      if (a) heldAlien.push(a);
      else holdOne(p.peerId, p.seq, () => held.hold(p));
    }
    for (const a of heldAlien) holdOne(a.peerId, a.seq, () => held.holdBytes(a.peerId, a.seq, a.patchedAt, encodeAlien(a)));
    if (releasing) {
      for (const p of [...e.merged, ...e.kept]) {
        held.release(p.peerId, p.seq);
        origins.find(p.peerId)?.held.delete(p.seq);
      }
      count(e, "patches_released_total", e.merged.length + e.kept.length);
    }
    count(e, "patches_applied_total", e.merged.length);
    let alienKept = e.kept.length;
    if (e.alienOf) for (const p of e.merged) if (e.alienOf.has(p)) alienKept++;
    count(e, "patches_alien_kept_total", alienKept);
    // 4. Heads and high-water marks, in the same transaction.
    if (e.merged.length > 0 || e.kept.length > 0) {
      let newestTs = 0;
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
      this.observeClock(newestTs, from);
      book.persist(this.r.clock.current, this.r.catalog.tables.keys());
    }
    return e;
  }

  /**
   * The parts of one group in this message: refused (the whole message) when they disagree with
   * what is stored of the group; merged with every part stored so far when they complete it;
   * otherwise stored to wait for the rest.
   */
  private takeGroup(group: WireGroup, parts: LocalPatch[], ready: LocalPatch[], e: Effects, releasing: boolean): void {
    const { incomplete, bounds, origins, opts, held, catalog } = this.r;
    const stamp = parts[0]!.patchedAt;
    const name = `${group.peerId}.${group.first}-${group.last}`;
    if (parts.some((p) => p.patchedAt !== stamp)) throw mismatch(`parts of group ${name} carry different stamps`);
    const pending = incomplete.overlapping(group.peerId, group.first, group.last);
    if (pending && (pending.group.first !== group.first || pending.group.last !== group.last)) {
      throw mismatch(`group ${name} overlaps group ${group.peerId}.${pending.group.first}-${pending.group.last} received before`);
    }
    if (pending && pending.patchedAt !== stamp) throw mismatch(`group ${name} arrives with another stamp than its parts received before`);
    const size = group.last - group.first + 1;
    // A group whole in this message has none of its sequences merged here (they would be
    // duplicates), so no group merged before can overlap it: only a part needs the check.
    if (pending || parts.length < size) {
      for (const b of bounds.overlapping(group.peerId, group.first, group.last, 2)) {
        if (b.first !== group.first || b.last !== group.last) throw mismatch(`group ${name} overlaps group ${group.peerId}.${b.first}-${b.last} merged before`);
      }
    }
    const origin = origins.get(group.peerId);
    if (parts.length + (pending?.parts ?? 0) + heldWithin(origin, group.first, group.last) >= size) {
      if (pending) {
        for (const row of incomplete.parts(group, group.first, size)) {
          const msg = decodeWire(row.bytes, STORED_LIMITS);
          if (msg.kind !== "patches") continue;
          const m = mapPatches(catalog, msg);
          for (const p of m.patches) ready.push(p);
          if (m.aliens) for (const a of m.aliens) if (a.local) (e.alienOf ??= new Map()).set(a.local, a);
          origin.incomplete.delete(row.seq);
          this.incompleteUndo.push(() => origin.incomplete.add(row.seq));
        }
        incomplete.remove(group);
      }
      for (const p of parts) ready.push(p);
      bounds.record(group);
      count(e, "groups_completed_total");
      return;
    }
    for (const p of parts) {
      if (incomplete.count >= opts.maxIncompletePatches) {
        count(e, "incomplete_refused_total");
        continue;
      }
      if (incomplete.store(group, p.seq, p.patchedAt, encodePart(p, e.alienOf?.get(p), group))) {
        origin.incomplete.add(p.seq);
        this.incompleteUndo.push(() => origin.incomplete.delete(p.seq));
        e.parked++;
        count(e, "incomplete_parked_total");
      } else count(e, "patches_duplicate_total");
      if (releasing) {
        held.release(p.peerId, p.seq);
        origin.held.delete(p.seq);
      }
    }
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
    // A delta replaces the heads it carries; anything else replaces them all.
    const delta = msg.form === "delta";
    // A full heartbeat: the neighbour restarted, or its safety net. Ours to it resume, so it can
    // check our heads against their digest and ask for what it lacks.
    if (!delta) link.unchangedSent = 0;
    const ignored = delta ? neighbours.takeDelta(link, msg.heads, opts.maxOrigins) : neighbours.takeHeads(link, msg.heads, opts.maxOrigins);
    metrics.inc("heads_taken_total", msg.heads.length - ignored);
    if (ignored > 0) metrics.inc("heads_ignored_total", ignored);
    // A digest that differs: a heartbeat was lost or reordered, the sender restarted, or it lies.
    // Its full heads are asked for, once a round (never when they cannot all be kept anyway).
    if (msg.digest !== undefined && !neighbours.digestMatches(link, msg.digest)) {
      metrics.inc("heads_digest_mismatches_total");
      if (!link.truncated && !link.askedFull) {
        link.askedFull = true;
        this.r.outbox.send(link, encodeWire({ kind: "heads-request" }, WIRE_VERSION), "heads-request");
      }
    }
    const mine = link.heads.get(book.peerId);
    if (mine && mine.highest > book.seq && mine.highest > (this.advertisedConflict.get(link.peerId) ?? 0)) {
      this.advertisedConflict.set(link.peerId, mine.highest);
      identity.raise(`neighbour ${link.peerId} holds patches of this id up to ${mine.highest}, beyond this replica's own sequence ${book.seq}`);
    }
    // Repair at once when there may be something to ask for (a claim rose) or to re-ask; an idle
    // heartbeat leaves it to the round (a hub gets one heartbeat per spoke per round).
    if (!gaps.idle || neighbours.advertised.maybeBehind.size > 0) gaps.run(opts.now());
  }

  /** A neighbour's digest of our heads did not match: it gets a full heartbeat (heartbeats.ts). */
  private onHeadsRequest(link: Link | undefined): void {
    if (link) this.r.heartbeats.headsRequested(link);
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
      this.apply(all, undefined, true);
    } catch (err) {
      if (!(isReplicError(err) && err.code === "GROUP_MISMATCH")) throw err;
      // Parts held from different messages disagree (a forged one among them): release them one
      // by one and drop those refused, or every round would fail on them.
      for (const p of all.patches) {
        try {
          this.apply({ patches: [p], aliens: undefined }, undefined, true);
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

  forgetLink(peerId: number): void {
    this.advertisedConflict.delete(peerId);
  }
}

function mismatch(message: string): ReplicError {
  return new ReplicError("GROUP_MISMATCH", `${message}: message refused`);
}

/** Sequences of `first..last` this origin holds (merged, or kept whole). */
function heldWithin(origin: OriginState, first: number, last: number): number {
  let n = Math.max(0, Math.min(last, origin.contiguous) - first + 1);
  for (const s of origin.above) if (s >= first && s <= last && s > origin.contiguous) n++;
  return n;
}

/** A part of an incomplete group as a one-patch message with its group, as received (whole when part of it is unknown here). */
function encodePart(p: LocalPatch, a: AlienPatch | undefined, group: WireGroup): Uint8Array {
  if (a) return encodeAlien({ ...a, group });
  const e = new PatchesEncoder(64);
  const ti = e.addTable(p.table.name, p.table.columnNames);
  e.add(ti, p.peerId, p.seq, p.patchedAt, p.cols, p.values);
  return e.finish([group]);
}
