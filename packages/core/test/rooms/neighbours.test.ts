// Pins neighbours.ts: links added once, the heads taken from a heartbeat (bounded, retained-from
// clamped), serving rounds, and the lag/behind counts per neighbour.
import { describe, expect, it } from "vitest";
import { heartbeatVersionFor, Neighbours, OLD_BUILD_HEARTBEATS, versionFor } from "../../src/neighbours.js";
import { Origins } from "../../src/origins.js";
import { ResolvedScope } from "../../src/scope.js";
import { digestOf, HeadsDigest } from "../../src/wire/heads-digest.js";
import type { PeerHead } from "../../src/wire/types.js";

const head = (peerId: number, contiguous: number, highest: number, retainedFrom = 1): PeerHead => ({ peerId, contiguous, highest, retainedFrom });

describe("Neighbours", () => {
  it("add(): a fresh link knows nothing yet", () => {
    const ns = new Neighbours();
    const send = () => {};
    const link = ns.add(4, send);
    expect(link).toEqual({
      peerId: 4,
      send,
      heads: new Map(),
      lastContact: null,
      clockDriftMs: null,
      schema: null,
      inflight: 0,
      roundStart: 0,
      servedBytes: 0,
      wire: 0,
      seen: 0,
      oldHeartbeats: 0,
      served: new Map(),
      digest: new HeadsDigest(),
      truncated: false,
      askedFull: false,
      sentVersion: -1,
      beats: 0,
      unchangedSent: 0,
      lastSentBeat: 0,
      fullDue: false,
      fullSent: false,
      allow: undefined,
      outOfScope: 0,
    });
    expect(ns.get(4)).toBe(link);
    expect(ns.size).toBe(1);
  });

  it("add() of a known neighbour keeps its state and takes the new send", () => {
    const ns = new Neighbours();
    const first = () => {};
    const second = () => {};
    const link = ns.add(4, first);
    link.inflight = 3;
    link.heads.set(9, head(9, 1, 1));
    const again = ns.add(4, second);
    expect(again).toBe(link);
    expect(again.send).toBe(second);
    expect(again.inflight).toBe(3);
    expect(again.heads.size).toBe(1);
    expect(ns.size).toBe(1);
  });

  it("add() states the link's whole authorization: the allow given, or none", () => {
    const ns = new Neighbours();
    const allow = new ResolvedScope({ items: { tenantId: [1] } });
    const link = ns.add(4, () => {}, allow);
    expect(link.allow).toBe(allow);
    link.outOfScope = 2;
    const wider = new ResolvedScope({ items: { tenantId: [1, 2] } });
    expect(ns.add(4, () => {}, wider).allow).toBe(wider);
    expect(ns.add(4, () => {}).allow).toBeUndefined();
    expect(link.outOfScope).toBe(2); // the count of refusals stays with the link
  });

  it("remove(): true when it was linked", () => {
    const ns = new Neighbours();
    ns.add(4, () => {});
    expect(ns.remove(5)).toBe(false);
    expect(ns.remove(4)).toBe(true);
    expect(ns.remove(4)).toBe(false);
    expect(ns.get(4)).toBeUndefined();
    expect(ns.size).toBe(0);
  });

  it("takeHeads(): replaces the previous heads", () => {
    const ns = new Neighbours();
    const link = ns.add(4, () => {});
    expect(ns.takeHeads(link, [head(7, 3, 5), head(8, 1, 1)], 10)).toBe(0);
    expect([...link.heads.keys()]).toEqual([7, 8]);
    expect(link.heads.get(7)).toEqual(head(7, 3, 5));
    expect(ns.takeHeads(link, [head(9, 2, 2)], 10)).toBe(0);
    expect([...link.heads.entries()]).toEqual([[9, head(9, 2, 2)]]);
  });

  it("takeHeads(): at most maxOrigins heads, the rest counted as ignored", () => {
    const ns = new Neighbours();
    const link = ns.add(4, () => {});
    expect(ns.takeHeads(link, [head(7, 1, 1), head(8, 1, 1), head(9, 1, 1)], 2)).toBe(1);
    expect([...link.heads.keys()]).toEqual([7, 8]);
    expect(ns.takeHeads(link, [head(7, 1, 1), head(8, 1, 1)], 2)).toBe(0);
    expect(ns.takeHeads(link, [head(7, 1, 1)], 0)).toBe(1);
    expect(link.heads.size).toBe(0);
  });

  it("takeHeads(): a retained-from beyond the contiguous head is clamped to just above it, and to at least 1", () => {
    const ns = new Neighbours();
    const link = ns.add(4, () => {});
    const honest = head(7, 5, 9, 6);
    ns.takeHeads(link, [honest, head(8, 5, 9, 8), head(9, 3, 3, 0)], 10);
    expect(link.heads.get(7)).toEqual(head(7, 5, 9, 6));
    expect(link.heads.get(8)).toEqual(head(8, 5, 9, 6));
    expect(link.heads.get(9)).toEqual(head(9, 3, 3, 1));
  });

  it("newRound(): one neighbour's serving round, or every neighbour's", () => {
    const ns = new Neighbours();
    const a = ns.add(4, () => {});
    const b = ns.add(5, () => {});
    for (const l of [a, b]) {
      l.servedBytes = 100;
      l.served.set(7, [[1, 2]]);
    }
    ns.newRound(a, 50);
    expect([a.roundStart, a.servedBytes, a.served.size]).toEqual([50, 0, 0]);
    expect([b.roundStart, b.servedBytes, b.served.size]).toEqual([0, 100, 1]);
    ns.newRound(undefined, 80);
    expect([a.roundStart, b.roundStart, b.servedBytes, b.served.size]).toEqual([80, 80, 0, 0]);
  });

  it("lag(): what we hold that it lacks, and what it holds that we lack, contiguously", () => {
    const ns = new Neighbours();
    const origins = new Origins();
    for (const s of [1, 2, 3, 4, 5]) origins.get(7).add(s); // we: 7 up to 5
    for (const s of [1, 2]) origins.get(8).add(s); // we: 8 up to 2
    origins.get(10).add(4); // we hold 10.4 only: not contiguous, no lag
    const link = ns.add(4, () => {});
    ns.takeHeads(link, [head(7, 3, 9), head(8, 6, 6), head(9, 4, 4), head(10, 0, 0)], 10);
    // lag: 7 → 5 − 3 = 2; 8 → it is ahead. behind: 8 → 6 − 2 = 4; 9 → 4 − 0 = 4; 7 → we are ahead.
    expect(ns.lag(link, origins)).toEqual({ lag: 2, behind: 8 });
    const other = ns.add(5, () => {});
    // Nothing advertised: it lacks all we hold contiguously.
    expect(ns.lag(other, origins)).toEqual({ lag: 7, behind: 0 });
    ns.takeHeads(other, [head(7, 5, 5), head(8, 2, 2)], 10);
    expect(ns.lag(other, origins)).toEqual({ lag: 0, behind: 0 });
  });
});

describe("Neighbours: the wire version a link reads", () => {
  it("version 2 once it sends one; 1 after OLD_BUILD_HEARTBEATS version 1 heartbeats and nothing newer; 2 again when it upgrades", () => {
    const ns = new Neighbours();
    const link = ns.add(4, () => {});
    expect(versionFor(link)).toBe(2);
    ns.sawVersion(link, 1, false); // patches and requests of version 1 say nothing
    expect(link.wire).toBe(0);
    for (let i = 1; i < OLD_BUILD_HEARTBEATS; i++) ns.sawVersion(link, 1, true);
    expect(link.wire).toBe(0);
    expect(versionFor(link)).toBe(2);
    ns.sawVersion(link, 1, true);
    expect(link.wire).toBe(1);
    expect(versionFor(link)).toBe(1);
    ns.sawVersion(link, 2, false);
    expect(link.wire).toBe(2);
    expect(versionFor(link)).toBe(2);
    // Once known to read version 2, version 1 heartbeats do not demote it.
    for (let i = 0; i < 5; i++) ns.sawVersion(link, 1, true);
    expect(link.wire).toBe(2);
  });

  it("a link that spoke version 2 first is never taken for an older build", () => {
    const ns = new Neighbours();
    const link = ns.add(5, () => {});
    ns.sawVersion(link, 2, true);
    for (let i = 0; i < 10; i++) ns.sawVersion(link, 1, true);
    expect(versionFor(link)).toBe(2);
  });
});

describe("Neighbours: heads deltas (version 3)", () => {
  it("a delta replaces only the heads it carries; the digest and the index follow", () => {
    const ns = new Neighbours();
    const link = ns.add(4, () => {});
    ns.takeHeads(link, [head(1, 3, 3), head(2, 5, 5)], 10);
    expect(ns.digestMatches(link, digestOf([head(1, 3, 3), head(2, 5, 5)]))).toBe(true);
    expect(ns.takeDelta(link, [head(2, 6, 8)], 10)).toBe(0);
    expect([...link.heads.values()]).toEqual([head(1, 3, 3), head(2, 6, 8)]);
    expect(ns.digestMatches(link, digestOf([head(1, 3, 3), head(2, 6, 8)]))).toBe(true);
    expect(ns.digestMatches(link, digestOf([head(1, 3, 3), head(2, 5, 5)]))).toBe(false);
    expect(ns.advertised.highest(2)).toBe(8);
    ns.takeDelta(link, [head(3, 1, 1)], 10);
    expect(ns.advertised.highest(3)).toBe(1);
    expect(link.truncated).toBe(false);
    // A head with highest 0 says nothing: out of the digest and the index.
    ns.takeDelta(link, [head(3, 0, 0)], 10);
    expect(ns.advertised.has(3)).toBe(false);
    expect(ns.digestMatches(link, digestOf([head(1, 3, 3), head(2, 6, 8)]))).toBe(true);
  });

  it("a delta takes no new origin beyond maxOrigins (counted, and the link marked truncated); known ones still change", () => {
    const ns = new Neighbours();
    const link = ns.add(4, () => {});
    ns.takeHeads(link, [head(1, 3, 3), head(2, 5, 5)], 2);
    expect(link.truncated).toBe(false);
    expect(ns.takeDelta(link, [head(9, 1, 1), head(1, 4, 4), head(8, 1, 1)], 2)).toBe(2);
    expect([...link.heads.keys()]).toEqual([1, 2]);
    expect(link.heads.get(1)).toEqual(head(1, 4, 4));
    expect(link.truncated).toBe(true);
    // A full heartbeat within the bound clears it.
    ns.takeHeads(link, [head(1, 4, 4)], 2);
    expect(link.truncated).toBe(false);
    ns.takeHeads(link, [head(1, 4, 4), head(2, 1, 1), head(3, 1, 1)], 2);
    expect(link.truncated).toBe(true);
  });

  it("a full heartbeat replaces all: origins it leaves out leave the index", () => {
    const ns = new Neighbours();
    const a = ns.add(4, () => {});
    const b = ns.add(5, () => {});
    ns.takeHeads(a, [head(1, 3, 9), head(2, 5, 5)], 10);
    ns.takeHeads(b, [head(1, 3, 4)], 10);
    ns.takeHeads(a, [head(2, 6, 6)], 10);
    expect(ns.advertised.highest(1)).toBe(4);
    expect(ns.advertised.highest(2)).toBe(6);
    ns.takeHeads(b, [], 10);
    expect(ns.advertised.has(1)).toBe(false);
    expect(ns.digestMatches(b, "0000000000000000")).toBe(true);
  });

  it("a head listed twice in one full heartbeat: the last one counts, in the map, digest and index", () => {
    const ns = new Neighbours();
    const a = ns.add(4, () => {});
    ns.takeHeads(a, [head(1, 3, 9), head(1, 2, 2)], 10);
    expect(a.heads.get(1)).toEqual(head(1, 2, 2));
    expect(ns.digestMatches(a, digestOf([head(1, 2, 2)]))).toBe(true);
    expect(ns.advertised.highest(1)).toBe(2);
  });

  it("the digest covers the heads as kept: a clamped retained-from never matches the sender's", () => {
    const ns = new Neighbours();
    const a = ns.add(4, () => {});
    const lie = head(1, 3, 9, 8);
    ns.takeHeads(a, [lie], 10);
    expect(a.heads.get(1)).toEqual(head(1, 3, 9, 4));
    expect(ns.digestMatches(a, digestOf([lie]))).toBe(false);
    expect(ns.digestMatches(a, digestOf([head(1, 3, 9, 4)]))).toBe(true);
  });

  it("remove() takes the link's claims out of the index", () => {
    const ns = new Neighbours();
    const a = ns.add(4, () => {});
    const b = ns.add(5, () => {});
    ns.takeHeads(a, [head(1, 3, 9)], 10);
    ns.takeHeads(b, [head(1, 3, 5), head(2, 1, 1)], 10);
    expect(ns.remove(4)).toBe(true);
    expect(ns.advertised.highest(1)).toBe(5);
    expect(ns.remove(5)).toBe(true);
    expect(ns.advertised.size).toBe(0);
    expect(ns.remove(5)).toBe(false);
  });

  it("newRound() lets a link be asked for and sent full heads again", () => {
    const ns = new Neighbours();
    const a = ns.add(4, () => {});
    a.askedFull = true;
    a.fullSent = true;
    ns.newRound(a, 5);
    expect([a.askedFull, a.fullSent]).toEqual([false, false]);
  });

  it("version 3: any version 3 message makes a link read deltas; three older heartbeats make it the newest version it sent", () => {
    const ns = new Neighbours();
    const link = ns.add(5, () => {});
    expect(heartbeatVersionFor(link)).toBe(3);
    ns.sawVersion(link, 2, false);
    expect(link.wire).toBe(0);
    expect(link.seen).toBe(2);
    for (let i = 1; i < OLD_BUILD_HEARTBEATS; i++) ns.sawVersion(link, 2, true);
    expect(heartbeatVersionFor(link)).toBe(3);
    ns.sawVersion(link, 2, true);
    expect(link.wire).toBe(2);
    expect(heartbeatVersionFor(link)).toBe(2);
    expect(versionFor(link)).toBe(2);
    ns.sawVersion(link, 3, false);
    expect(link.wire).toBe(3);
    expect(heartbeatVersionFor(link)).toBe(3);
    expect(versionFor(link)).toBe(2);
    for (let i = 0; i < 5; i++) ns.sawVersion(link, 2, true);
    expect(link.wire).toBe(3);
    const old = ns.add(6, () => {});
    ns.sawVersion(old, 3, true);
    expect(old.seen).toBe(3);
    ns.sawVersion(old, 1, true);
    expect(old.seen).toBe(3);
    expect(old.oldHeartbeats).toBe(0);
  });

  it("a version 1 link that sends a version 2 heartbeat was upgraded", () => {
    const ns = new Neighbours();
    const link = ns.add(5, () => {});
    for (let i = 0; i < OLD_BUILD_HEARTBEATS; i++) ns.sawVersion(link, 1, true);
    expect(heartbeatVersionFor(link)).toBe(1);
    ns.sawVersion(link, 2, true);
    expect(link.wire).toBe(2);
    expect(heartbeatVersionFor(link)).toBe(2);
  });
});
