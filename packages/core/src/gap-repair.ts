/**
 * Gap repair (anti-entropy): from the heads neighbours advertise in heartbeats, find every
 * sequence this replica lacks (holes and lost tails alike) and ask a neighbour that still retains
 * it — any holder, not only the origin — in bounded windows, re-asking another holder after a
 * timeout. Each round also decides which origins are stale (see staleness.ts).
 *
 * A range times out when nothing it waits for has moved for the timeout, not a fixed time after
 * it was asked: a neighbour serves what it was asked in order, so on a slow receiver the last
 * range of a full window can take longer than the timeout to arrive while data streams in all
 * along. Timed from its request, such a range was asked for again while already on its way,
 * and much of it then came twice (1.8× the patches of a 1M catch-up on a busy 2-core machine,
 * and slower for it). So a range's clock restarts when part of it arrives, or part of a range
 * the same neighbour serves before it while that one is still incomplete (see noteProgress).
 */
import type { Metrics } from "./metrics.js";
import type { Link, Neighbours } from "./neighbours.js";
import type { Origins } from "./origins.js";
import type { Staleness } from "./staleness.js";
import type { SeqRange } from "./wire/types.js";

interface Pending {
  range: SeqRange;
  link: number;
  /** When it was asked for (ms). */
  sent: number;
  /** When part of it, or of a range served before it, last arrived (ms): its clock's start. */
  progressAt: number;
  /** How long without progress before it is asked again (ms): the timeout with back-off. */
  wait: number;
  size: number;
}

export interface RepairOptions {
  maxInflightPatches: number;
  maxBatchPatches: number;
  requestTimeoutMs: number;
}

export class GapRepair {
  /** Requests in flight, per origin. */
  private readonly pending = new Map<number, Pending[]>();
  /** Timed-out attempts per origin and range start: drives rotation and back-off. */
  private readonly retries = new Map<number, Map<number, number>>();
  /** Per origin with requests in flight, its contiguous head at the last settle. */
  private readonly seen = new Map<number, number>();

  constructor(
    private readonly selfId: number,
    private readonly neighbours: Neighbours,
    private readonly origins: Origins,
    private readonly opts: RepairOptions,
    private readonly metrics: Metrics,
    private readonly staleness: Staleness,
    private readonly request: (link: Link, ranges: SeqRange[]) => void,
  ) {}

  /** True when nothing is being waited for. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  /** Forgets requests made to a neighbour that was removed. */
  forgetLink(peerId: number): void {
    for (const [origin, list] of this.pending) {
      const keep = list.filter((p) => p.link !== peerId);
      if (keep.length > 0) this.pending.set(origin, keep);
      else this.pending.delete(origin);
    }
  }

  /**
   * Finds every sequence some neighbour holds that we lack, and asks a neighbour that retains
   * it, in bounded windows. A request not answered in time is dropped and asked again, of another
   * holder when there is one, with linear back-off.
   */
  run(now: number): void {
    this.settle(now);
    // Origins nobody advertises any more are forgotten; only origins where some neighbour may be
    // ahead are looked at (advertised.ts keeps them as heads change): an idle round costs nothing
    // per origin or per link.
    const advertised = this.neighbours.advertised;
    for (const origin of [...this.pending.keys()]) if (!advertised.has(origin)) this.pending.delete(origin);
    for (const origin of [...this.retries.keys()]) if (!advertised.has(origin)) this.retries.delete(origin);
    const requests = new Map<Link, SeqRange[]>();
    const stale = new Map<number, string>();
    for (const originId of advertised.maybeBehind) {
      this.metrics.inc("repair_origins_examined_total");
      const upTo = advertised.highest(originId);
      // Our own origin is never asked for: we wrote all of it (see identity.ts).
      if (originId === this.selfId || upTo === 0) {
        advertised.maybeBehind.delete(originId);
        continue;
      }
      const origin = this.origins.find(originId);
      const contiguous = origin?.contiguous ?? 0;
      // Asked before the skip: it drops a too-old mark filled since, which would otherwise hide a
      // later one (staleness keeps only the lowest mark).
      const tooOld = this.staleness.tooOldAbove(originId, contiguous);
      if (contiguous >= upTo) {
        // Holds all anyone advertises: looked at again when a neighbour advertises more.
        advertised.maybeBehind.delete(originId);
        continue;
      }
      // What the origin itself advertises of itself is authoritative: nobody can hold more.
      const ownClaim = this.neighbours.get(originId)?.heads.get(originId)?.highest ?? Number.MAX_SAFE_INTEGER;
      if (tooOld !== undefined && tooOld <= Math.min(upTo, ownClaim)) {
        stale.set(originId, `patch ${originId}.${tooOld} is only offered older than this replica's collection horizon`);
      }
      const inFlight = this.pending.get(originId) ?? [];
      const attemptsOf = this.retries.get(originId);
      const gaps = origin ? origin.missing(upTo) : [{ peerId: originId, from: 1, to: upTo }];
      for (const gap of gaps) {
        let from = gap.from;
        while (from <= gap.to) {
          const covering = inFlight.find((p) => p.range.from <= from && from <= p.range.to);
          if (covering) {
            from = covering.range.to + 1;
            continue;
          }
          const attempts = attemptsOf?.get(from) ?? 0;
          const link = this.pickSource(originId, from, attempts);
          if (!link) {
            // Some neighbour advertises `from` (it is at most the highest advertised), but none retains it.
            if (from <= ownClaim) {
              stale.set(originId, `no neighbour retains the patches of peer ${originId} after sequence ${contiguous}`);
            }
            break;
          }
          const budget = this.opts.maxInflightPatches - link.inflight;
          if (budget <= 0) break;
          const h = link.heads.get(originId)!;
          const next = inFlight.filter((p) => p.range.from > from).reduce((m, p) => Math.min(m, p.range.from - 1), gap.to);
          const to = Math.min(next, from + Math.min(budget, this.opts.maxBatchPatches * 4) - 1, h.highest);
          const size = to - from + 1;
          inFlight.push({
            range: { peerId: originId, from, to },
            link: link.peerId,
            size,
            sent: now,
            progressAt: now,
            wait: this.opts.requestTimeoutMs * Math.min(attempts + 1, 4),
          });
          link.inflight += size;
          let list = requests.get(link);
          if (!list) requests.set(link, (list = []));
          list.push({ peerId: originId, from, to });
          this.metrics.inc("gaps_requested_total");
          this.metrics.inc("gap_patches_requested_total", size);
          from = to + 1;
        }
      }
      if (inFlight.length > 0) {
        this.pending.set(originId, inFlight);
        if (!this.seen.has(originId)) this.seen.set(originId, contiguous);
      }
    }
    this.staleness.update(stale);
    for (const [link, ranges] of requests) this.request(link, ranges);
  }

  /** A neighbour that holds `seq` of `origin` and still retains it; rotates with retries. */
  private pickSource(origin: number, seq: number, attempts: number): Link | undefined {
    const full: Link[] = [];
    const partial: Link[] = [];
    for (const link of this.neighbours.links.values()) {
      const h = link.heads.get(origin);
      if (!h || h.retainedFrom > seq) continue;
      if (h.contiguous >= seq) full.push(link);
      else if (h.highest >= seq) partial.push(link);
    }
    // Prefer links that hold it contiguously; rotate by retry count so a silent peer is skipped.
    const candidates = full.length > 0 ? full : partial;
    if (candidates.length === 0) return undefined;
    return candidates[attempts % candidates.length];
  }

  /**
   * Drops requests that are satisfied or timed out (no progress for their wait). A timed-out
   * range start counts an attempt, which picks the next holder and waits longer (linear
   * back-off, up to 4× the timeout); progress forgets attempts.
   */
  settle(now: number): void {
    this.noteProgress(now);
    for (const [originId, attempts] of this.retries) {
      const contiguous = this.origins.reached(originId);
      for (const from of attempts.keys()) if (from <= contiguous) attempts.delete(from);
      if (attempts.size === 0) this.retries.delete(originId);
    }
    for (const [originId, list] of this.pending) {
      const contiguous = this.origins.reached(originId);
      const keep = list.filter((p) => {
        const done = contiguous >= p.range.to;
        const expired = !done && now - p.progressAt >= p.wait;
        if (!done && !expired) return true;
        const link = this.neighbours.get(p.link);
        if (link) link.inflight = Math.max(0, link.inflight - p.size);
        if (expired) {
          let attempts = this.retries.get(originId);
          if (!attempts) this.retries.set(originId, (attempts = new Map()));
          attempts.set(p.range.from, (attempts.get(p.range.from) ?? 0) + 1);
        }
        return false;
      });
      if (keep.length > 0) this.pending.set(originId, keep);
      else this.pending.delete(originId);
    }
    for (const originId of this.seen.keys()) if (!this.pending.has(originId)) this.seen.delete(originId);
  }

  /**
   * A range made progress when its origin's contiguous head moved into it (answers arrive in
   * order; above a hole nothing counts, so a lost message times out). Then it restarts its clock,
   * and so does every range asked of the same neighbour that waits behind it: served after it
   * (asked later, or later in the same request) while it is still incomplete, and not timed out
   * already (one that has stays so: its answer was lost).
   */
  private noteProgress(now: number): void {
    const moved = new Set<Pending>();
    const head = new Map<number, Pending>(); // neighbour → first range still streaming from it
    for (const [originId, list] of this.pending) {
      const before = this.seen.get(originId);
      const contiguous = this.origins.reached(originId);
      if (before === undefined || contiguous <= before) continue;
      for (const p of list) {
        if (p.range.from > contiguous || p.range.to <= before) continue;
        moved.add(p);
        const first = head.get(p.link);
        if (contiguous < p.range.to && (!first || servedBefore(p, first))) head.set(p.link, p);
      }
      this.seen.set(originId, contiguous);
    }
    if (moved.size === 0) return;
    for (const list of this.pending.values()) {
      for (const p of list) {
        const first = head.get(p.link);
        if (moved.has(p) || (first && servedBefore(first, p) && now - p.progressAt < p.wait)) p.progressAt = now;
      }
    }
  }
}

/** Whether a neighbour serves `a` before `b`: requests in order, ranges sorted within one. */
function servedBefore(a: Pending, b: Pending): boolean {
  if (a.sent !== b.sent) return a.sent < b.sent;
  if (a.range.peerId !== b.range.peerId) return a.range.peerId < b.range.peerId;
  return a.range.from < b.range.from;
}
