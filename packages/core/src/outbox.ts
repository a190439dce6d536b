/**
 * The outbox: everything this replica sends. Messages are queued and flushed iteratively (a
 * synchronous loopback transport cannot recurse deeply); patches are relayed to neighbours that
 * may lack them; gap requests are served in bounded batches, streamed, at most `maxServeBytes`
 * per neighbour per round, and a range already served to a neighbour this round is not served
 * again.
 */
import type { AlienPatch } from "./alien-patch.js";
import type { AlienStore } from "./alien-store.js";
import type { Catalog } from "./catalog.js";
import type { GroupBounds } from "./group-bounds.js";
import type { Metrics } from "./metrics.js";
import { versionFor, type Link, type Neighbours } from "./neighbours.js";
import type { Logger } from "./options.js";
import { PatchBatcher } from "./patch-batcher.js";
import type { LocalPatch } from "./replicated-table.js";
import { groupOf } from "./wire/decoder.js";
import type { SeqRange, WireGroup, WireMessage } from "./wire/types.js";

/** Ranges served per request at most, after merging overlaps (a hostile request may list a million). */
const MAX_RANGES_PER_REQUEST = 1024;

export interface OutboxOptions {
  maxBatchPatches: number;
  limits: { maxMessageBytes: number };
  maxServeBytes: number;
  heartbeatMs: number;
  requestTimeoutMs: number;
  now: () => number;
}

export class Outbox {
  private queue: Array<[Link, Uint8Array]> = [];
  private flushing = false;

  constructor(
    private readonly neighbours: Neighbours,
    private readonly catalog: Catalog,
    private readonly alien: AlienStore,
    private readonly bounds: GroupBounds,
    private readonly metrics: Metrics,
    private readonly opts: OutboxOptions,
    private readonly logger: Logger | undefined,
  ) {}

  send(link: Link, bytes: Uint8Array, kind: WireMessage["kind"]): void {
    this.queue.push([link, bytes]);
    this.metrics.inc("messages_out_total", 1, { kind });
    this.metrics.inc("bytes_out_total", bytes.length);
  }

  /** Sends queued messages. Iterative, so synchronous loopback transports cannot recurse deeply. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        for (const [link, bytes] of batch) {
          if (this.neighbours.get(link.peerId) !== link) continue; // removed meanwhile
          try {
            link.send(bytes);
          } catch (err) {
            // A failing transport loses messages; anti-entropy repairs them later.
            this.metrics.inc("send_errors_total");
            this.logger?.warn(`replic: sending to peer ${link.peerId} failed`, err);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Forwards merged patches to every neighbour (but the one they came from) that may lack them.
   * A patch naming something unknown here goes on whole, as received (`alienOf`, `kept`).
   */
  relay(patches: readonly LocalPatch[], from: Link | undefined, alienOf?: Map<LocalPatch, AlienPatch>, kept: readonly AlienPatch[] = []): void {
    // Links that get the same patches at the same wire version share one encoding: a hub relaying
    // a spoke's batch to every other spoke encodes it once, not once per link.
    const shared = new Map<string, Uint8Array[]>();
    const total = patches.length + kept.length;
    for (const link of this.neighbours.links.values()) {
      if (link === from) continue;
      const chosen: number[] = [];
      for (let i = 0; i < patches.length; i++) {
        const h = link.heads.get(patches[i]!.peerId);
        if (!(h && h.contiguous >= patches[i]!.seq)) chosen.push(i);
      }
      for (let i = 0; i < kept.length; i++) {
        const h = link.heads.get(kept[i]!.peerId);
        if (!(h && h.contiguous >= kept[i]!.seq)) chosen.push(patches.length + i);
      }
      if (chosen.length === 0) continue;
      const version = versionFor(link);
      const key = `${version}:${chosen.length === total ? "all" : chosen.join(",")}`;
      let messages = shared.get(key);
      if (!messages) {
        const batcher = new PatchBatcher(this.opts.maxBatchPatches, this.opts.limits.maxMessageBytes);
        for (const i of chosen) {
          if (i >= patches.length) {
            const a = kept[i - patches.length]!;
            batcher.addAlien(a, a.group);
            continue;
          }
          const p = patches[i]!;
          const a = alienOf?.get(p);
          if (a) batcher.addAlien(a, p.group);
          else batcher.add(p.table, p.peerId, p.seq, p.patchedAt, p.cols, p.values, p.group);
        }
        shared.set(key, (messages = batcher.finish(version)));
      }
      for (const m of messages) this.send(link, m, "patches");
    }
  }

  /** Sends these patches to these neighbours, whatever their heads say. */
  push(links: readonly Link[], patches: readonly LocalPatch[]): void {
    for (const link of links) {
      const batcher = new PatchBatcher(this.opts.maxBatchPatches, this.opts.limits.maxMessageBytes);
      for (const p of patches) batcher.add(p.table, p.peerId, p.seq, p.patchedAt, p.cols, p.values, p.group);
      for (const m of batcher.finish(versionFor(link))) this.send(link, m, "patches");
    }
  }

  /** Answers a gap request: the asked ranges, in batches, within the neighbour's byte budget. */
  serve(link: Link, ranges: readonly SeqRange[]): void {
    // A round ends at the next heartbeat, or sooner than a requester's retry would come.
    const now = this.opts.now();
    const roundMs = Math.min(this.opts.heartbeatMs || Infinity, this.opts.requestTimeoutMs / 2);
    if (now - link.roundStart >= roundMs) this.neighbours.newRound(link, now);
    const todo = coalesce(ranges).slice(0, MAX_RANGES_PER_REQUEST);
    const chunk = this.opts.maxBatchPatches;
    for (const r of todo) {
      for (const [from, to] of unserved(link, r)) {
        let a = from;
        while (a <= to) {
          if (link.servedBytes >= this.opts.maxServeBytes) {
            // The rest waits for the next round; the requester asks again after its timeout.
            this.metrics.inc("serve_bytes_deferred_total");
            return;
          }
          const b = Math.min(to, a + chunk - 1);
          let patches: LocalPatch[] = [];
          for (const t of this.catalog.tables.values()) t.log.readRange(t, r.peerId, a, b, patches);
          // A patch kept whole (part of it unknown here) is served whole.
          const aliens = this.alien.readRange(r.peerId, a, b);
          if (aliens.length > 0) {
            const whole = new Set(aliens.map((x) => x.seq));
            patches = patches.filter((p) => !whole.has(p.seq));
          }
          if (patches.length === 0 && aliens.length === 0) {
            // Nothing held here: jump to the next sequence we hold (index probes), so a hostile
            // or stale request for a vast range costs a few probes, not one read per chunk.
            const next = this.nextHeld(r.peerId, b);
            markServed(link, r.peerId, a, next === undefined ? to : Math.min(to, next - 1));
            if (next === undefined) break;
            a = next;
            continue;
          }
          patches.sort((x, y) => x.seq - y.seq);
          // Every part served names its whole group, so the requester knows what else it needs.
          const groups = this.bounds.overlapping(r.peerId, a, b);
          const group = (seq: number): WireGroup | undefined => (groups.length === 0 ? undefined : groupOf(groups, seq));
          const batcher = new PatchBatcher(chunk, this.opts.limits.maxMessageBytes);
          for (const p of patches) batcher.add(p.table, p.peerId, p.seq, p.patchedAt, p.cols, p.values, group(p.seq));
          for (const x of aliens) batcher.addAlien(x, group(x.seq));
          for (const m of batcher.finish(versionFor(link))) this.send(link, m, "patches");
          link.servedBytes += batcher.bytes;
          markServed(link, r.peerId, a, b);
          this.metrics.inc("patches_served_total", patches.length + aliens.length);
          this.flush(); // stream: a batch leaves before the next one is read
          a = b + 1;
        }
      }
      this.metrics.inc("gaps_served_total");
    }
  }

  /** The lowest sequence of this origin held here above `seq` (any table, or kept whole). */
  private nextHeld(peerId: number, seq: number): number | undefined {
    let next = this.alien.nextAbove(peerId, seq);
    for (const t of this.catalog.tables.values()) {
      const n = t.log.nextAbove(peerId, seq);
      if (n !== undefined && (next === undefined || n < next)) next = n;
    }
    return next;
  }
}

/** Sorted ranges with overlapping or adjacent ones of the same origin merged. */
function coalesce(ranges: readonly SeqRange[]): SeqRange[] {
  const sorted = [...ranges].sort((a, b) => a.peerId - b.peerId || a.from - b.from);
  const out: SeqRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.peerId === r.peerId && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** The parts of `r` not yet served to `link` this round. */
function unserved(link: Link, r: SeqRange): Array<[number, number]> {
  const done = link.served.get(r.peerId);
  if (!done) return [[r.from, r.to]];
  const out: Array<[number, number]> = [];
  let from = r.from;
  for (const [a, b] of [...done].sort((x, y) => x[0] - y[0])) {
    if (b < from) continue;
    if (a > r.to) break;
    if (a > from) out.push([from, a - 1]);
    from = Math.max(from, b + 1);
    if (from > r.to) return out;
  }
  if (from <= r.to) out.push([from, r.to]);
  return out;
}

function markServed(link: Link, origin: number, from: number, to: number): void {
  let list = link.served.get(origin);
  if (!list) link.served.set(origin, (list = []));
  const last = list[list.length - 1];
  if (last && last[1] + 1 === from) last[1] = to;
  else list.push([from, to]);
}
