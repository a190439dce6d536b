// Pins gap-repair.ts: which sequences are asked for, of which neighbour, in what windows, when a
// request is dropped and asked again (rotation, linear back-off), and when an origin is declared
// stale. Driven directly with the real Neighbours, Origins, Staleness and Metrics rooms.
import { describe, expect, it } from "vitest";
import { StaleReplicaError } from "../../src/errors.js";
import { Events } from "../../src/events.js";
import { GapRepair, type RepairOptions } from "../../src/gap-repair.js";
import { declareAll } from "../../src/metric-names.js";
import { Metrics } from "../../src/metrics.js";
import { Neighbours, type Link } from "../../src/neighbours.js";
import { Origins } from "../../src/origins.js";
import { Staleness } from "../../src/staleness.js";
import { Waiters } from "../../src/waiters.js";
import type { SeqRange } from "../../src/wire/types.js";

const SELF = 1;
const O = 7; // the origin whose patches are repaired

/** [origin, contiguous, highest, retainedFrom = 1] */
type Head = [number, number, number, number?];

function setup(opts: Partial<RepairOptions> = {}) {
  const metrics = new Metrics();
  declareAll(metrics);
  const events = new Events(undefined);
  const staleEvents: StaleReplicaError[] = [];
  events.on("stale", (e) => staleEvents.push(e));
  const staleness = new Staleness(SELF, metrics, events, new Waiters(), undefined);
  const neighbours = new Neighbours();
  const origins = new Origins();
  /** Every request sent, as [neighbour, ranges]. */
  const sent: Array<[number, SeqRange[]]> = [];
  const options: RepairOptions = { maxInflightPatches: 100, maxBatchPatches: 10, requestTimeoutMs: 1000, ...opts };
  const gaps = new GapRepair(SELF, neighbours, origins, options, metrics, staleness, (link, ranges) => sent.push([link.peerId, ranges]));
  const advertise = (peerId: number, heads: Head[]): Link => {
    const link = neighbours.links.get(peerId) ?? neighbours.add(peerId, () => {});
    neighbours.takeHeads(
      link,
      heads.map(([peerId, contiguous, highest, retainedFrom = 1]) => ({ peerId, contiguous, highest, retainedFrom })),
      100,
    );
    return link;
  };
  /** Runs a round and returns what it sent, as "neighbour:origin.from-to" strings. */
  const round = (now: number): string[] => {
    const before = sent.length;
    gaps.run(now);
    return sent.slice(before).flatMap(([l, rs]) => rs.map((r) => `${l}:${r.peerId}.${r.from}-${r.to}`));
  };
  const hold = (origin: number, ...seqs: number[]) => {
    for (const s of seqs) origins.get(origin).add(s);
  };
  const retries = () => (gaps as unknown as { retries: Map<number, Map<number, number>> }).retries;
  return { metrics, staleness, staleEvents, neighbours, origins, gaps, sent, advertise, round, hold, retries };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("GapRepair: what is asked for", () => {
  it("asks nothing with no neighbours, and is idle", () => {
    const t = setup();
    expect(t.round(0)).toEqual([]);
    expect(t.gaps.idle).toBe(true);
    expect(t.metrics.get("stale_origins")).toBe(0);
  });

  it("asks a neighbour for everything it holds that we lack, and counts it", () => {
    const t = setup();
    const a = t.advertise(2, [[O, 5, 5]]);
    expect(t.round(0)).toEqual(["2:7.1-5"]);
    expect(a.inflight).toBe(5);
    expect(t.gaps.idle).toBe(false);
    expect(t.metrics.get("gaps_requested_total")).toBe(1);
    expect(t.metrics.get("gap_patches_requested_total")).toBe(5);
  });

  it("asks only for the holes above what we hold, held-back sequences excluded", () => {
    const t = setup();
    t.hold(O, 1, 2, 5);
    t.origins.get(O).held.add(7);
    t.advertise(2, [[O, 9, 9]]);
    expect(t.round(0)).toEqual(["2:7.3-4", "2:7.6-6", "2:7.8-9"]);
    expect(t.metrics.get("gaps_requested_total")).toBe(3);
    expect(t.metrics.get("gap_patches_requested_total")).toBe(5);
  });

  it("asks nothing when we hold up to what anyone advertises", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(2, [[O, 3, 3]]);
    t.advertise(3, [[O, 2, 2]]);
    expect(t.round(0)).toEqual([]);
    expect(t.gaps.idle).toBe(true);
  });

  it("never asks for its own origin", () => {
    const t = setup();
    t.advertise(2, [[SELF, 9, 9]]);
    expect(t.round(0)).toEqual([]);
    expect(t.metrics.get("gaps_requested_total")).toBe(0);
  });

  it("asks up to the highest any neighbour advertises, each part of whoever holds it", () => {
    const t = setup();
    t.advertise(2, [[O, 3, 3]]);
    t.advertise(3, [[O, 0, 10]]);
    t.advertise(4, [[O, 2, 6]]);
    // 1–2 from a contiguous holder (2 is first), 3 likewise, 4–10 only from the partial holder 3.
    expect(t.round(0)).toEqual(["2:7.1-3", "3:7.4-10"]);
  });

  it("one request per neighbour carries all its ranges, of every origin", () => {
    const t = setup();
    t.advertise(2, [
      [O, 2, 2],
      [8, 3, 3],
    ]);
    t.round(0);
    expect(t.sent).toEqual([
      [
        2,
        [
          { peerId: O, from: 1, to: 2 },
          { peerId: 8, from: 1, to: 3 },
        ],
      ],
    ]);
  });

  it("prefers a neighbour holding the sequence contiguously over one holding it above a hole", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(3, [[O, 0, 9]]); // partial, first in order
    t.advertise(2, [[O, 4, 9]]); // holds 4 contiguously
    expect(t.round(0)).toEqual(["2:7.4-9"]);
  });

  it("a partial holder is asked when it is the only one, up to its highest", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(2, [[O, 0, 4]]);
    expect(t.round(0)).toEqual(["2:7.4-4"]);
    expect(t.staleness.has(O)).toBe(false);
  });

  it("a neighbour that collected a sequence is not asked for it; one that retains exactly from it is", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(5, []); // knows nothing of O
    t.advertise(3, [[O, 9, 9, 5]]);
    t.advertise(2, [[O, 9, 9, 4]]);
    expect(t.round(0)).toEqual(["2:7.4-9"]);
  });

  it("windows: at most 4 × maxBatchPatches per range, at most maxInflightPatches in flight per neighbour", () => {
    const t = setup({ maxInflightPatches: 100, maxBatchPatches: 10 });
    const a = t.advertise(2, [
      [O, 120, 120],
      [8, 5, 5],
    ]);
    expect(t.round(0)).toEqual(["2:7.1-40", "2:7.41-80", "2:7.81-100"]);
    expect(a.inflight).toBe(100);
    expect(t.metrics.get("gap_patches_requested_total")).toBe(100);
    // The budget is spent: nothing more is asked of that neighbour this round or the next, and
    // the rest of O waits for it (its holder is picked first) until it answers or times out.
    expect(t.round(1)).toEqual([]);
    t.advertise(3, [
      [O, 120, 120],
      [9, 5, 5],
    ]);
    // Another neighbour has its own budget.
    expect(t.round(2)).toEqual(["3:9.1-5"]);
    t.hold(O, ...range(1, 40));
    expect(t.round(3)).toEqual(["2:7.101-120", "2:8.1-5"]);
    expect(a.inflight).toBe(85);
  });

  it("a small in-flight budget bounds the range", () => {
    const t = setup({ maxInflightPatches: 3, maxBatchPatches: 10 });
    t.advertise(2, [[O, 9, 9]]);
    expect(t.round(0)).toEqual(["2:7.1-3"]);
  });
});

describe("GapRepair: requests in flight", () => {
  it("does not ask again for what is in flight, nor for a range's last sequence", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    expect(t.round(0)).toEqual(["2:7.1-4"]);
    t.advertise(2, [[O, 8, 8]]);
    expect(t.round(100)).toEqual(["2:7.5-8"]);
    t.hold(O, 1, 2, 3); // 4 is the last of the first range, still in flight
    expect(t.round(200)).toEqual([]);
  });

  it("a re-asked range stops below a later range still in flight", () => {
    const t = setup();
    const a = t.advertise(2, [[O, 4, 4]]);
    expect(t.round(0)).toEqual(["2:7.1-4"]); // deadline 1000
    t.advertise(2, [[O, 8, 8]]);
    expect(t.round(500)).toEqual(["2:7.5-8"]); // deadline 1500
    expect(a.inflight).toBe(8);
    expect(t.round(1000)).toEqual(["2:7.1-4"]);
    expect(a.inflight).toBe(8);
  });

  it("an answered request is settled: the neighbour's budget is free again", () => {
    const t = setup();
    const a = t.advertise(2, [[O, 4, 4]]);
    t.round(0);
    t.hold(O, 1, 2, 3);
    t.gaps.settle(10);
    expect(a.inflight).toBe(4);
    expect(t.gaps.idle).toBe(false);
    t.hold(O, 4);
    t.gaps.settle(10);
    expect(a.inflight).toBe(0);
    expect(t.gaps.idle).toBe(true);
    // An answer is not a failed attempt.
    expect(t.retries().size).toBe(0);
  });

  it("a request times out at its deadline exactly, and is asked again", () => {
    const t = setup();
    const a = t.advertise(2, [[O, 4, 4]]);
    t.round(0);
    t.gaps.settle(999);
    expect(a.inflight).toBe(4);
    expect(t.round(999)).toEqual([]);
    expect(t.round(1000)).toEqual(["2:7.1-4"]);
    expect(a.inflight).toBe(4);
  });

  it("a timed-out range is asked of the next holder, with linear back-off capped at 4×", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.advertise(3, [[O, 4, 4]]);
    const asked: string[] = [];
    for (let now = 0; now <= 24000; now += 500) for (const r of t.round(now)) asked.push(`${now}/${r}`);
    // Waits 1, 2, 3, 4, 4, 4 × the timeout; rotates between the two holders.
    expect(asked).toEqual([
      "0/2:7.1-4",
      "1000/3:7.1-4",
      "3000/2:7.1-4",
      "6000/3:7.1-4",
      "10000/2:7.1-4",
      "14000/3:7.1-4",
      "18000/2:7.1-4",
      "22000/3:7.1-4",
    ]);
  });

  it("progress forgets the attempts of what was filled", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.advertise(3, [[O, 4, 4]]);
    t.round(0);
    expect(t.round(1000)).toEqual(["3:7.1-4"]);
    expect(t.retries().get(O)?.get(1)).toBe(1);
    t.hold(O, 1);
    t.gaps.settle(1001);
    expect(t.retries().has(O)).toBe(false);
  });

  it("progress forgets only the attempts it passed", () => {
    const t = setup({ maxInflightPatches: 2, maxBatchPatches: 10 });
    t.advertise(2, [[O, 4, 4]]);
    expect(t.round(0)).toEqual(["2:7.1-2"]);
    expect(t.round(1000)).toEqual(["2:7.1-2"]);
    t.hold(O, 1, 2);
    expect(t.round(1001)).toEqual(["2:7.3-4"]);
    expect(t.round(2001)).toEqual(["2:7.3-4"]);
    expect([...t.retries().get(O)!]).toEqual([[3, 1]]);
  });

  it("forgets requests and attempts of an origin nobody advertises any more", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.advertise(3, [[O, 4, 4]]);
    t.round(0);
    t.advertise(2, []);
    t.advertise(3, []);
    expect(t.round(1000)).toEqual([]);
    expect(t.gaps.idle).toBe(true);
    t.advertise(2, [[O, 4, 4]]);
    t.advertise(3, [[O, 4, 4]]);
    // Attempts started over: the first holder again, with the first timeout.
    expect(t.round(1001)).toEqual(["2:7.1-4"]);
  });

  it("an origin advertised as holding nothing is not wanted: its requests are dropped", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.round(0);
    t.advertise(2, [[O, 0, 0]]);
    t.round(10);
    expect(t.gaps.idle).toBe(true);
  });

  it("forgetLink drops the requests made to that neighbour only", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.advertise(3, [[8, 4, 4]]);
    t.round(0);
    t.gaps.forgetLink(2);
    expect(t.gaps.idle).toBe(false);
    t.neighbours.remove(2);
    t.advertise(4, [[O, 4, 4]]);
    // O is asked again at once (of the new neighbour), 8 is still in flight from 3.
    expect(t.round(10)).toEqual(["4:7.1-4"]);
    t.gaps.forgetLink(3);
    t.gaps.forgetLink(4);
    expect(t.gaps.idle).toBe(true);
  });

  it("forgetLink keeps the other neighbours' requests of the same origin", () => {
    const t = setup();
    t.advertise(2, [[O, 2, 2]]);
    t.advertise(3, [[O, 4, 4]]);
    expect(t.round(0)).toEqual(["2:7.1-2", "3:7.3-4"]);
    t.gaps.forgetLink(2);
    expect(t.round(10)).toEqual(["2:7.1-2"]);
  });

  it("settling a request to a neighbour that is gone, or came back, never drives its budget negative", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.round(0);
    t.neighbours.remove(2);
    const back = t.advertise(2, [[O, 4, 4]]);
    expect(back.inflight).toBe(0);
    t.gaps.settle(1000);
    expect(back.inflight).toBe(0);
    expect(t.gaps.idle).toBe(true);
    const gone = setup();
    gone.advertise(3, [[8, 4, 4]]);
    gone.round(0);
    gone.neighbours.remove(3);
    gone.gaps.settle(1000);
    expect(gone.gaps.idle).toBe(true);
    expect(gone.retries().get(8)?.get(1)).toBe(1);
  });
});

describe("GapRepair: staleness", () => {
  it("an origin is stale when every neighbour holding its missing patches has collected them", () => {
    const t = setup();
    t.advertise(2, [[O, 10, 10, 6]]);
    expect(t.round(0)).toEqual([]);
    expect(t.gaps.idle).toBe(true);
    expect(t.staleness.has(O)).toBe(true);
    expect(t.metrics.get("stale_origins")).toBe(1);
    expect(t.staleEvents).toHaveLength(1);
    expect(t.staleEvents[0]).toBeInstanceOf(StaleReplicaError);
    expect(t.staleEvents[0]!.code).toBe("NEEDS_RESEED");
    expect(t.staleEvents[0]!.originPeerId).toBe(O);
    expect(t.staleEvents[0]!.message).toBe("needs a re-seed: no neighbour retains the patches of peer 7 after sequence 0");
    // It clears by itself once a holder appears.
    t.advertise(3, [[O, 10, 10]]);
    expect(t.round(1)).toEqual(["3:7.1-10"]);
    expect(t.staleness.has(O)).toBe(false);
    expect(t.metrics.get("stale_origins")).toBe(0);
  });

  it("a single missing tail sequence that nobody retains makes the origin stale", () => {
    const t = setup();
    t.hold(O, 1, 2, 3, 4);
    t.advertise(3, []);
    t.advertise(2, [[O, 5, 5, 6]]);
    t.round(0);
    expect(t.staleEvents.map((e) => e.message)).toEqual(["needs a re-seed: no neighbour retains the patches of peer 7 after sequence 4"]);
  });

  it("what the origin advertises of itself bounds what can be missing", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(O, [[O, 3, 3]]); // the origin itself holds only 1–3
    t.advertise(2, [[O, 10, 10, 11]]); // a neighbour claims more, all collected
    expect(t.round(0)).toEqual([]);
    expect(t.staleness.has(O)).toBe(false);
  });

  it("the origin's own claim counts up to and including its highest", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(O, [[O, 4, 4, 5]]); // the origin wrote 4 and collected it
    expect(t.round(0)).toEqual([]);
    expect(t.staleEvents.map((e) => e.message)).toEqual(["needs a re-seed: no neighbour retains the patches of peer 7 after sequence 3"]);
  });

  it("an origin linked as a neighbour but not advertising itself does not bound the claim", () => {
    const t = setup();
    t.advertise(O, [[8, 1, 1]]);
    t.advertise(2, [[O, 10, 10, 11]]);
    expect(t.round(0)).toEqual(["7:8.1-1"]);
    expect(t.staleness.has(O)).toBe(true);
  });

  it("stale when a missing patch was only offered older than the collection horizon", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.staleness.noteTooOld(O, 4);
    t.advertise(2, [[O, 10, 10]]);
    // Still asked for: another copy may come in time.
    expect(t.round(0)).toEqual(["2:7.4-10"]);
    expect(t.staleEvents.map((e) => e.message)).toEqual([
      "needs a re-seed: patch 7.4 is only offered older than this replica's collection horizon",
    ]);
  });

  it("a too-old sequence at the highest advertised counts, above it does not", () => {
    const at = setup();
    at.hold(O, 1, 2, 3);
    at.staleness.noteTooOld(O, 10);
    at.advertise(2, [[O, 10, 10]]);
    at.round(0);
    expect(at.staleness.has(O)).toBe(true);

    const above = setup();
    above.hold(O, 1, 2, 3);
    above.staleness.noteTooOld(O, 11);
    above.advertise(2, [[O, 10, 10]]);
    above.round(0);
    expect(above.staleness.has(O)).toBe(false);
  });

  it("a too-old mark filled since is forgotten while nothing is missing, so it hides no later one", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.staleness.noteTooOld(O, 4);
    t.advertise(2, [[O, 10, 10]]);
    t.round(0);
    expect(t.staleness.has(O)).toBe(true);
    // Another copy of 4–10 came in time: the origin is whole, nothing is asked.
    t.hold(O, ...range(4, 10));
    expect(t.round(1)).toEqual([]);
    expect(t.staleness.has(O)).toBe(false);
    // Later, 11 is only offered too old: that is stale (noteTooOld keeps the lowest mark, so the
    // filled mark at 4 must be gone by now).
    t.staleness.noteTooOld(O, 11);
    t.advertise(2, [[O, 12, 12]]);
    expect(t.round(2)).toEqual(["2:7.11-12"]);
    expect(t.staleEvents.map((e) => e.message).at(-1)).toBe(
      "needs a re-seed: patch 7.11 is only offered older than this replica's collection horizon",
    );
    expect(t.staleness.has(O)).toBe(true);
  });

  it("a too-old sequence beyond what the origin claims of itself does not count", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.staleness.noteTooOld(O, 6);
    t.advertise(O, [[O, 5, 5]]);
    t.advertise(2, [[O, 10, 10]]);
    t.round(0);
    expect(t.staleness.has(O)).toBe(false);
  });
});

// The timeout rule: a range is asked again only when nothing it waits for has arrived for
// requestTimeoutMs (times back-off). A neighbour serves its requests in order, and the ranges of
// one request sorted by origin, then by start; so progress on a range also restarts the clock of
// every range the same neighbour serves after it.
describe("GapRepair: a range times out only after a timeout without progress", () => {
  it("progress on the range itself postpones its timeout, to one timeout after the last delivery", () => {
    const t = setup();
    t.advertise(2, [[O, 10, 10]]);
    expect(t.round(0)).toEqual(["2:7.1-10"]);
    t.hold(O, 1, 2);
    expect(t.round(300)).toEqual([]);
    t.hold(O, 3, 4, 5);
    expect(t.round(600)).toEqual([]);
    // Silent from here: the rounds in between are not progress.
    expect(t.round(1000)).toEqual([]);
    expect(t.round(1599)).toEqual([]);
    expect(t.round(1600)).toEqual(["2:7.6-10"]);
    // Asked again from where it stopped, with the first timeout: an attempt counts for the
    // range's start, which the progress passed.
    expect(t.round(2599)).toEqual([]);
    expect(t.round(2600)).toEqual(["2:7.6-10"]);
  });

  it("the range's first sequence alone is progress", () => {
    const t = setup();
    t.hold(O, 1, 2, 3);
    t.advertise(2, [[O, 10, 10]]);
    expect(t.round(0)).toEqual(["2:7.4-10"]);
    t.hold(O, 4);
    expect(t.round(500)).toEqual([]);
    expect(t.round(1499)).toEqual([]);
    expect(t.round(1500)).toEqual(["2:7.5-10"]);
  });

  it("a sequence above a hole is not progress: the lost message still times out", () => {
    const t = setup();
    t.advertise(2, [[O, 10, 10]]);
    expect(t.round(0)).toEqual(["2:7.1-10"]);
    t.hold(O, 2, 3, 4);
    expect(t.round(500)).toEqual([]);
    expect(t.round(999)).toEqual([]);
    // Only the hole and what is still missing are asked again.
    expect(t.round(1000)).toEqual(["2:7.1-1", "2:7.5-10"]);
  });

  it("progress is counted once: a settle that sees nothing new does not restart the clock", () => {
    const t = setup();
    const a = t.advertise(2, [[O, 10, 10]]);
    t.round(0);
    t.hold(O, 1);
    t.gaps.settle(400);
    t.gaps.settle(800);
    t.gaps.settle(1399);
    expect(a.inflight).toBe(10);
    t.gaps.settle(1400);
    expect(a.inflight).toBe(0);
    expect([...t.retries().get(O)!]).toEqual([[1, 1]]);
  });

  it("progress on an earlier range of the same request postpones the ranges served after it", () => {
    const t = setup({ maxBatchPatches: 1 }); // ranges of 4
    t.advertise(2, [[O, 12, 12]]);
    expect(t.round(0)).toEqual(["2:7.1-4", "2:7.5-8", "2:7.9-12"]);
    t.hold(O, 1, 2);
    expect(t.round(900)).toEqual([]);
    expect(t.round(1899)).toEqual([]);
    expect(t.round(1900)).toEqual(["2:7.3-6", "2:7.7-10", "2:7.11-12"]);
  });

  it("a range that completed postpones nothing behind it: the next one waits for its own data", () => {
    const t = setup({ maxBatchPatches: 1 });
    t.advertise(2, [[O, 8, 8]]);
    expect(t.round(0)).toEqual(["2:7.1-4", "2:7.5-8"]);
    t.hold(O, 1, 2, 3, 4);
    expect(t.round(900)).toEqual([]);
    expect(t.round(1000)).toEqual(["2:7.5-8"]);
  });

  it("progress does not postpone a range served before it, nor one asked of another neighbour", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.advertise(3, [[9, 4, 4]]);
    expect(t.round(0)).toEqual(["2:7.1-4", "3:9.1-4"]);
    t.advertise(2, [
      [O, 4, 4],
      [8, 4, 4],
    ]);
    expect(t.round(500)).toEqual(["2:8.1-4"]); // a later request: served after 7.1-4
    t.hold(8, 1);
    expect(t.round(900)).toEqual([]);
    expect(t.round(1000)).toEqual(["2:7.1-4", "3:9.1-4"]);
    expect(t.round(1899)).toEqual([]);
    expect(t.round(1900)).toEqual(["2:8.2-4"]);
  });

  it("an earlier request is served first, whatever its origin", () => {
    const t = setup();
    t.advertise(2, [[8, 4, 4]]);
    expect(t.round(0)).toEqual(["2:8.1-4"]);
    t.advertise(2, [
      [8, 4, 4],
      [O, 4, 4],
    ]);
    expect(t.round(500)).toEqual(["2:7.1-4"]); // asked later, so served after 8.1-4
    t.hold(8, 1);
    expect(t.round(1400)).toEqual([]);
    // 7.1-4 restarted its clock at 1400 too.
    expect(t.round(2399)).toEqual([]);
    expect(t.round(2400)).toEqual(["2:8.2-4", "2:7.1-4"]);
  });

  it("within one request, ranges are served by origin, then by start", () => {
    const t = setup({ maxBatchPatches: 1 });
    t.hold(O, 1, 2, 3, 4);
    // Listed 8 first: the neighbour still serves 7.5-8 before 8.1-4.
    t.advertise(2, [
      [8, 4, 4],
      [O, 8, 8],
    ]);
    expect(t.round(0)).toEqual(["2:8.1-4", "2:7.5-8"]);
    t.hold(O, 5);
    expect(t.round(900)).toEqual([]);
    expect(t.round(1899)).toEqual([]);
    expect(t.round(1900)).toEqual(["2:8.1-4", "2:7.6-8"]);

    // Progress on 8.1-4 does not postpone 7.5-8, served before it.
    const u = setup({ maxBatchPatches: 1 });
    u.hold(O, 1, 2, 3, 4);
    u.advertise(2, [
      [O, 8, 8],
      [8, 4, 4],
    ]);
    expect(u.round(0)).toEqual(["2:7.5-8", "2:8.1-4"]);
    u.hold(8, 1);
    expect(u.round(900)).toEqual([]);
    expect(u.round(1000)).toEqual(["2:7.5-8"]);
    expect(u.round(1900)).toEqual(["2:8.2-4"]);
  });

  it("the first range still streaming decides what waits behind it, whichever origin is settled first", () => {
    for (const order of [
      [O, 8],
      [8, O],
    ]) {
      const t = setup({ maxBatchPatches: 1 });
      t.advertise(
        2,
        order.map((o): Head => (o === O ? [O, 8, 8] : [8, 4, 4])),
      );
      // Served 7.1-4, 7.5-8, 8.1-4; progress on the first and the last postpones the middle one.
      expect(t.round(0).sort()).toEqual(["2:7.1-4", "2:7.5-8", "2:8.1-4"]);
      t.hold(O, 1);
      t.hold(8, 1);
      expect(t.round(900)).toEqual([]);
      expect(t.round(1899)).toEqual([]);
      expect(t.round(1900).sort()).toEqual(["2:7.2-5", "2:7.6-8", "2:8.2-4"]);
    }
  });

  it("a range already timed out stays so: progress ahead of it does not revive it", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    expect(t.round(0)).toEqual(["2:7.1-4"]);
    t.advertise(2, [
      [O, 4, 4],
      [8, 4, 4],
    ]);
    // 7.1-4 timed out (now waits 2×); 8.1-4 is asked in the same request, with 1×.
    expect(t.round(1000)).toEqual(["2:7.1-4", "2:8.1-4"]);
    t.hold(O, 1);
    // 8.1-4's time is up exactly as 7.1-4, served before it, makes progress: its answer was lost.
    expect(t.round(2000)).toEqual(["2:8.1-4"]);
    expect(t.round(3999)).toEqual([]);
    // Both waited 2× since 2000: 7.1-4 after its progress, 8.1-4 as its second attempt.
    expect(t.round(4000)).toEqual(["2:7.2-4", "2:8.1-4"]);
  });

  it("one timeout short of it, progress ahead of a range does postpone it", () => {
    const t = setup();
    t.advertise(2, [[O, 4, 4]]);
    t.round(0);
    t.advertise(2, [
      [O, 4, 4],
      [8, 4, 4],
    ]);
    expect(t.round(1000)).toEqual(["2:7.1-4", "2:8.1-4"]);
    t.hold(O, 1);
    expect(t.round(1999)).toEqual([]);
    expect(t.round(2998)).toEqual([]);
    expect(t.round(2999)).toEqual(["2:8.1-4"]);
  });

  it("the seen map forgets an origin with nothing pending", () => {
    const t = setup();
    const seen = () => (t.gaps as unknown as { seen: Map<number, number> }).seen;
    t.advertise(2, [
      [O, 4, 4],
      [8, 2, 2],
    ]);
    t.round(0);
    expect([...seen()]).toEqual([
      [O, 0],
      [8, 0],
    ]);
    t.hold(O, 1, 2);
    t.gaps.settle(10);
    expect([...seen()]).toEqual([
      [O, 2],
      [8, 0],
    ]);
    t.hold(8, 1, 2);
    t.gaps.settle(20);
    expect([...seen()]).toEqual([[O, 2]]);
    t.hold(O, 3, 4);
    t.gaps.settle(30);
    expect(seen().size).toBe(0);
    expect(t.gaps.idle).toBe(true);
  });
});
