// Pins staleness.ts: the too-old sequences noted per origin, the stale set replaced each repair
// round, and what becoming stale does (event, warning, waiters rejected, gauge).
import { describe, expect, it } from "vitest";
import { StaleReplicaError } from "../../src/errors.js";
import { Events } from "../../src/events.js";
import { declareAll } from "../../src/metric-names.js";
import { Metrics } from "../../src/metrics.js";
import { Staleness } from "../../src/staleness.js";
import { Waiters } from "../../src/waiters.js";

const SELF = 1;

function setup() {
  const metrics = new Metrics();
  declareAll(metrics);
  const events = new Events(undefined);
  const emitted: StaleReplicaError[] = [];
  events.on("stale", (e) => emitted.push(e));
  const warnings: string[] = [];
  const waiters = new Waiters();
  const staleness = new Staleness(SELF, metrics, events, waiters, { warn: (m) => void warnings.push(m) });
  return { metrics, emitted, warnings, waiters, staleness };
}

/** Tracks what a promise did; read it after `flush()`. */
function track(p: Promise<void>): { state: string } {
  const t = { state: "pending" };
  p.then(
    () => void (t.state = "resolved"),
    (e: StaleReplicaError) => void (t.state = `rejected ${e.code} ${e.originPeerId}`),
  );
  return t;
}
const flush = () => new Promise<void>((r) => setImmediate(r));

describe("Staleness", () => {
  it("nothing is stale at first", () => {
    const { staleness } = setup();
    expect(staleness.has(7)).toBe(false);
    expect(staleness.origins()).toEqual([]);
  });

  it("an origin that becomes stale: event, warning, its waiters rejected, gauge", async () => {
    const t = setup();
    const w7 = track(t.waiters.wait(7, 5, Infinity, () => "7.5"));
    const w8 = track(t.waiters.wait(8, 5, Infinity, () => "8.5"));
    t.staleness.update(new Map([[7, "gone"]]));
    expect(t.staleness.has(7)).toBe(true);
    expect(t.staleness.has(8)).toBe(false);
    expect(t.staleness.origins()).toEqual([7]);
    expect(t.metrics.get("stale_origins")).toBe(1);
    expect(t.emitted).toHaveLength(1);
    expect(t.emitted[0]).toBeInstanceOf(StaleReplicaError);
    expect([t.emitted[0]!.code, t.emitted[0]!.originPeerId, t.emitted[0]!.message]).toEqual(["NEEDS_RESEED", 7, "needs a re-seed: gone"]);
    expect(t.warnings).toEqual(["replic: needs a re-seed: gone"]);
    await flush();
    expect(w7.state).toBe("rejected NEEDS_RESEED 7");
    expect(w8.state).toBe("pending");
    t.waiters.advance(8, 5);
    await flush();
    expect(w8.state).toBe("resolved");
  });

  it("an origin still stale is announced once, and keeps its first reason", () => {
    const t = setup();
    t.staleness.update(new Map([[7, "first"]]));
    t.staleness.update(new Map([[7, "second"]]));
    expect(t.emitted).toHaveLength(1);
    expect(t.warnings).toHaveLength(1);
    expect(t.staleness.error(7, SELF).message).toBe("replica 1 needs a re-seed: first");
  });

  it("each round replaces the set: origins no longer reported clear, new ones are added", () => {
    const t = setup();
    t.staleness.update(
      new Map([
        [7, "a"],
        [8, "b"],
      ]),
    );
    expect(t.metrics.get("stale_origins")).toBe(2);
    t.staleness.update(
      new Map([
        [8, "b"],
        [9, "c"],
      ]),
    );
    expect(t.staleness.origins()).toEqual([8, 9]);
    expect(t.metrics.get("stale_origins")).toBe(2);
    expect(t.emitted.map((e) => e.originPeerId)).toEqual([7, 8, 9]);
    t.staleness.update(new Map());
    expect(t.staleness.origins()).toEqual([]);
    expect(t.metrics.get("stale_origins")).toBe(0);
    // Stale again after clearing: announced again.
    t.staleness.update(new Map([[7, "again"]]));
    expect(t.emitted.map((e) => e.message)).toEqual(["needs a re-seed: a", "needs a re-seed: b", "needs a re-seed: c", "needs a re-seed: again"]);
  });

  it("this replica's own origin is never stale", () => {
    const t = setup();
    t.staleness.update(new Map([[SELF, "own"]]));
    expect(t.staleness.has(SELF)).toBe(false);
    expect(t.emitted).toEqual([]);
    expect(t.warnings).toEqual([]);
    expect(t.metrics.get("stale_origins")).toBe(0);
  });

  it("works without a logger", () => {
    const metrics = new Metrics();
    declareAll(metrics);
    const s = new Staleness(SELF, metrics, new Events(undefined), new Waiters(), undefined);
    s.update(new Map([[7, "x"]]));
    expect(s.has(7)).toBe(true);
  });

  it("error(): a typed NEEDS_RESEED error naming the replica, the origin and the reason", () => {
    const t = setup();
    const plain = t.staleness.error(7, 3);
    expect(plain).toBeInstanceOf(StaleReplicaError);
    expect([plain.code, plain.originPeerId, plain.message]).toEqual(["NEEDS_RESEED", 7, "replica 3 needs a re-seed: stale"]);
    t.staleness.update(new Map([[7, "why"]]));
    expect(t.staleness.error(7, 3).message).toBe("replica 3 needs a re-seed: why");
  });

  it("too-old sequences: the lowest is kept, and forgotten once filled", () => {
    const { staleness } = setup();
    expect(staleness.tooOldAbove(7, 0)).toBeUndefined();
    staleness.noteTooOld(7, 6);
    staleness.noteTooOld(7, 9);
    expect(staleness.tooOldAbove(7, 0)).toBe(6);
    staleness.noteTooOld(7, 4);
    expect(staleness.tooOldAbove(7, 3)).toBe(4);
    expect(staleness.tooOldAbove(8, 0)).toBeUndefined();
    // Filled (contiguous reached it): forgotten for good, even asked with a lower head.
    expect(staleness.tooOldAbove(7, 4)).toBeUndefined();
    expect(staleness.tooOldAbove(7, 0)).toBeUndefined();
    staleness.noteTooOld(7, 9);
    expect(staleness.tooOldAbove(7, 0)).toBe(9);
  });
});
