// Pins heartbeats.ts: what each neighbour gets each round — a full heartbeat first, deltas after,
// a full one every `fullEvery`, on request (once a round at once, else next round), full
// heartbeats of their own version for older builds, quiet links (nothing changed: one every
// `idleEvery` rounds) — and that equal messages are encoded once.
import { describe, expect, it } from "vitest";
import { HeadsLog } from "../../src/heads-log.js";
import { Heartbeats, QUIET_AFTER } from "../../src/heartbeats.js";
import { declareAll } from "../../src/metric-names.js";
import { Metrics } from "../../src/metrics.js";
import { Neighbours, type Link } from "../../src/neighbours.js";
import { Origins } from "../../src/origins.js";
import type { Outbox } from "../../src/outbox.js";
import { decodeWire, wireVersionOf } from "../../src/wire/decoder.js";
import { digestOf } from "../../src/wire/heads-digest.js";
import type { HeartbeatMessage } from "../../src/wire/types.js";

function setup(fullEvery = 4, idleEvery = 1) {
  const metrics = new Metrics();
  declareAll(metrics);
  const origins = new Origins();
  const neighbours = new Neighbours();
  const sent: Array<{ to: number; bytes: Uint8Array }> = [];
  const outbox = { send: (link: Link, bytes: Uint8Array) => void sent.push({ to: link.peerId, bytes }) } as unknown as Outbox;
  const log = new HeadsLog();
  const hb = new Heartbeats({ origins, log, outbox, metrics, fullEvery, idleEvery, stamp: () => ({ clock: 77, schema: { version: 2, hash: 9 } }) });
  const set = (id: number, contiguous: number) => {
    const o = origins.get(id);
    o.contiguous = contiguous;
    o.highest = contiguous;
  };
  /** One round to these links: what each got, decoded, with its version. */
  const round = (...links: Link[]) => {
    sent.length = 0;
    neighbours.newRound(undefined, 0);
    hb.send(links);
    return got();
  };
  const got = () => sent.map((s) => ({ to: s.to, v: wireVersionOf(s.bytes), msg: decodeWire(s.bytes) as HeartbeatMessage, bytes: s.bytes }));
  return { metrics, origins, neighbours, hb, log, sent, set, round, got };
}

describe("Heartbeats", () => {
  it("sends nothing to no links", () => {
    const x = setup();
    x.hb.send([]);
    expect(x.sent).toEqual([]);
  });

  it("a new link gets a full heartbeat first, then deltas of what changed, with the digest of all heads", () => {
    const x = setup(100);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 3);
    x.set(6, 1);
    const [first] = x.round(a);
    expect(first!.v).toBe(3);
    expect(first!.msg).toMatchObject({ clock: 77, form: "full", schema: { version: 2, hash: 9 } });
    expect(first!.msg.heads.map((h) => h.peerId)).toEqual([5, 6]);
    expect(first!.msg.digest).toBe(digestOf(first!.msg.heads));
    const [idle] = x.round(a);
    expect(idle!.msg).toMatchObject({ form: "delta", heads: [], digest: first!.msg.digest });
    x.set(6, 2);
    const [delta] = x.round(a);
    expect(delta!.msg.form).toBe("delta");
    expect(delta!.msg.heads).toEqual([{ peerId: 6, contiguous: 2, highest: 2, retainedFrom: 1 }]);
    expect(delta!.msg.digest).toBe(digestOf([{ peerId: 5, contiguous: 3, highest: 3, retainedFrom: 1 }, delta!.msg.heads[0]!]));
    const [after] = x.round(a);
    expect(after!.msg.heads).toEqual([]);
  });

  it("a full heartbeat every `fullEvery` heartbeats", () => {
    const x = setup(3);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 3);
    const forms: string[] = [];
    for (let i = 0; i < 7; i++) forms.push(x.round(a)[0]!.msg.form!);
    expect(forms).toEqual(["full", "delta", "full", "delta", "delta", "full", "delta"]);
  });

  it("fullEvery 1 sends only full heartbeats", () => {
    const x = setup(1);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 3);
    for (let i = 0; i < 3; i++) expect(x.round(a)[0]!.msg.form).toBe("full");
  });

  it("links last sent the same heads share one encoding; a link behind gets its own delta", () => {
    const x = setup(100);
    const a = x.neighbours.add(2, () => {});
    const b = x.neighbours.add(3, () => {});
    const c = x.neighbours.add(4, () => {});
    x.set(5, 1);
    x.round(a, b, c);
    x.set(5, 2);
    const [ga, gb, gc] = x.round(a, b, c);
    expect(ga!.bytes).toBe(gb!.bytes);
    expect(gb!.bytes).toBe(gc!.bytes);
    x.set(6, 1);
    x.round(a, b); // c misses a round
    x.set(7, 1);
    const r = x.round(a, b, c);
    expect(r[0]!.bytes).toBe(r[1]!.bytes);
    expect(r[2]!.bytes).not.toBe(r[0]!.bytes);
    expect(r[0]!.msg.heads.map((h) => h.peerId)).toEqual([7]);
    expect(r[2]!.msg.heads.map((h) => h.peerId)).toEqual([6, 7]);
    expect(r[2]!.msg.digest).toBe(r[0]!.msg.digest);
  });

  it("a full heartbeat is encoded once for every link that gets one in a round", () => {
    const x = setup();
    const a = x.neighbours.add(2, () => {});
    const b = x.neighbours.add(3, () => {});
    x.set(5, 1);
    const [ga, gb] = x.round(a, b);
    expect(ga!.bytes).toBe(gb!.bytes);
    expect(ga!.msg.form).toBe("full");
  });

  it("older builds get full heartbeats of their version, without form or digest", () => {
    const x = setup();
    const v1 = x.neighbours.add(2, () => {});
    const v2 = x.neighbours.add(3, () => {});
    const v2b = x.neighbours.add(4, () => {});
    v1.wire = 1;
    v2.wire = 2;
    v2b.wire = 2;
    x.set(5, 1);
    for (let i = 0; i < 2; i++) {
      const r = x.round(v1, v2, v2b);
      expect(r.map((g) => g.v)).toEqual([1, 2, 2]);
      for (const g of r) {
        expect(g.msg.form).toBeUndefined();
        expect(g.msg.heads).toEqual([{ peerId: 5, contiguous: 1, highest: 1, retainedFrom: 1 }]);
      }
      expect(r[1]!.bytes).toBe(r[2]!.bytes);
    }
    expect(v1.beats + v2.beats).toBe(0);
  });

  it("a heads request is answered at once with a full heartbeat, once a round; a second waits for the next round", () => {
    const x = setup(100);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 1);
    x.round(a);
    x.round(a);
    x.sent.length = 0;
    x.sent.length = 0;
    x.hb.headsRequested(a);
    expect(x.got().map((g) => g.msg.form)).toEqual(["full"]);
    expect(a.fullDue).toBe(false);
    x.sent.length = 0;
    x.hb.headsRequested(a);
    expect(x.sent).toEqual([]);
    expect(a.fullDue).toBe(true);
    expect(x.round(a)[0]!.msg.form).toBe("full");
    expect(x.round(a)[0]!.msg.form).toBe("delta");
    expect(x.metrics.get("heads_requests_in_total")).toBe(2);
  });
});

describe("Heartbeats: one full heartbeat per round while the heads stand still", () => {
  it("answers to heads requests in one round share the round's full heartbeat; a change or a new round encodes anew", () => {
    const x = setup(100);
    const [a, b, c] = [2, 3, 4].map((id) => x.neighbours.add(id, () => {}));
    x.set(5, 1);
    x.round(a!, b!, c!);
    x.round(a!, b!, c!);
    x.sent.length = 0;
    x.hb.headsRequested(a!);
    x.hb.headsRequested(b!);
    const [ga, gb] = x.got();
    expect(ga!.msg.form).toBe("full");
    expect(gb!.bytes).toBe(ga!.bytes);
    x.set(5, 2);
    x.sent.length = 0;
    x.hb.headsRequested(c!);
    const [gc] = x.got();
    expect(gc!.bytes).not.toBe(ga!.bytes);
    expect(gc!.msg.heads).toEqual([{ peerId: 5, contiguous: 2, highest: 2, retainedFrom: 1 }]);
    // A new round: the full heartbeat carries the new clock even with the same heads.
    x.hb.newRound();
    a!.fullDue = true;
    x.sent.length = 0;
    x.neighbours.newRound(undefined, 0);
    x.hb.send([a!]);
    expect(x.got()[0]!.bytes).not.toBe(gc!.bytes);
  });

});

describe("Heartbeats: quiet links, one heartbeat every `idleEvery` rounds while nothing changes", () => {
  it("a link with our unchanged heads goes quiet after the change and two more: one heartbeat every `idleEvery` rounds, the rest counted as skipped", () => {
    const x = setup(1000, 4);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 1);
    const forms = Array.from({ length: 12 }, () => x.round(a)[0]?.msg.form ?? "-");
    // full, two unchanged deltas, then quiet: rounds 4-6 skipped, round 7 (4 after the last) sent.
    expect(forms).toEqual(["full", "delta", "delta", "-", "-", "-", "delta", "-", "-", "-", "delta", "-"]);
    expect(x.metrics.get("heartbeats_idle_skipped_total")).toBe(7);
    expect(QUIET_AFTER).toBe(2);
  });

  it("a change ends the quiet at once, and is followed by two unchanged heartbeats before the next quiet", () => {
    const x = setup(1000, 10);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 1);
    for (let i = 0; i < 5; i++) x.round(a);
    expect(x.round(a)).toEqual([]);
    x.set(5, 2);
    const [change] = x.round(a);
    expect(change!.msg).toMatchObject({ form: "delta", heads: [{ peerId: 5, contiguous: 2 }] });
    const after = Array.from({ length: 3 }, () => x.round(a).map((g) => g.msg.heads.length));
    expect(after).toEqual([[0], [0], []]);
  });

  it("quiet links still get the full heartbeats due to them: every `fullEvery`, and when they ask", () => {
    const x = setup(6, 100);
    const a = x.neighbours.add(2, () => {});
    x.set(5, 1);
    const forms = Array.from({ length: 7 }, () => x.round(a)[0]?.msg.form ?? "-");
    // After every full heartbeat, two unchanged ones again before the quiet.
    expect(forms).toEqual(["full", "delta", "delta", "-", "-", "full", "delta"]);
    x.sent.length = 0;
    x.hb.headsRequested(a);
    expect(x.got().map((g) => g.msg.form)).toEqual(["full"]);
    expect(Array.from({ length: 3 }, () => x.round(a)[0]?.msg.form ?? "-")).toEqual(["delta", "delta", "-"]);
  });

  it("links go quiet one by one: a link behind still gets its delta while the others are quiet", () => {
    const x = setup(1000, 50);
    const a = x.neighbours.add(2, () => {});
    const b = x.neighbours.add(3, () => {});
    x.set(5, 1);
    for (let i = 0; i < 3; i++) x.round(a, b);
    expect(x.round(a, b)).toEqual([]);
    const c = x.neighbours.add(4, () => {});
    expect(x.round(a, b, c).map((g) => [g.to, g.msg.form])).toEqual([[4, "full"]]);
    expect(x.metrics.get("heartbeats_idle_skipped_total")).toBe(4);
  });
});
