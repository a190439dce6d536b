// The inbound room's group path (src/inbound.ts, takeGroup) and the local writer's one stamp per
// transaction: a group is visible whole or not at all, whatever the message boundaries; parts that
// disagree are refused whole; waiting parts are bounded, durable and reported when overdue.
import { describe, expect, it } from "vitest";
import { createReplica, decodeMessage, decodeWire, encodeMessage, encodeWire, isReplicError, type Replica } from "../../src/index.js";
import { testDriver } from "../helpers.js";
import { largeGroupCases } from "../large-group-cases.js";
import { metric, ordersPeers } from "../orders-peers.js";
import { dumpOrders, ORDERS_DDL, ORDERS_MIGRATIONS } from "../group-sim.js";

const { peer, open } = ordersPeers();

/** An order and its four lines, one epoch on all five rows, in one transaction. */
function writeOrder(r: Replica, order: string, epoch: number, linesFirst = false) {
  const lines = [1, 2, 3, 4].map((n) => ({ orderId: order, n, qty: epoch + n, epoch }));
  const head = { id: order, total: lines.reduce((s, l) => s + l.qty, 0), epoch };
  r.transaction(() => {
    if (!linesFirst) r.upsert("orders", head);
    for (const l of linesFirst ? [...lines].reverse() : lines) r.upsert("order_lines", l);
    if (linesFirst) r.upsert("orders", head);
  });
}

describe("inbound: group patches", () => {
  it("a transaction split over many messages (one patch each) becomes visible only with its last part", () => {
    const a = peer(1, { maxBatchPatches: 1 });
    const b = peer(2);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    expect(sent).toHaveLength(5);
    for (const m of sent.slice(0, 4)) {
      const msg = decodeMessage(m);
      expect(msg.kind === "patches" && msg.groups).toEqual([{ peerId: 1, first: 1, last: 5 }]);
    }
    // Last part first, then the others in reverse: nothing shows until the group is whole.
    const order = [4, 3, 2, 1, 0];
    for (const [k, i] of order.entries()) {
      b.r.receive(1, sent[i]!);
      expect(b.violation()).toBeUndefined();
      if (k < 4) {
        expect(b.dump()).toBe("[[],[]]");
        expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: k + 1 });
      }
    }
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
    expect(metric(b.r, "groups_completed_total")).toBe(1);
    expect(metric(b.r, "incomplete_parked_total")).toBe(4);
  });

  it("every patch of a transaction carries one stamp; upsertMany is one group too", () => {
    const a = peer(1);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    a.r.upsertMany("order_lines", [1, 2, 3].map((n) => ({ orderId: "o2", n, qty: n, epoch: 2 })));
    const [first, second] = sent.map((m) => decodeMessage(m));
    expect(first!.kind === "patches" && new Set(first!.patches.map((p) => p.patchedAt)).size).toBe(1);
    expect(first!.kind === "patches" && first!.groups).toEqual([{ peerId: 1, first: 1, last: 5 }]);
    expect(second!.kind === "patches" && second!.groups).toEqual([{ peerId: 1, first: 6, last: 8 }]);
    expect(second!.kind === "patches" && new Set(second!.patches.map((p) => p.patchedAt)).size).toBe(1);
    // A single write is a group of its own: a version 1 message, as older builds wrote it.
    a.r.upsert("orders", { id: "o3", total: 0, epoch: 3 });
    expect(sent[2]![1]).toBe(1);
  });

  it("two concurrent transactions on the same rows: one wins in every column both set, on every replica", () => {
    for (const sameMs of [true, false]) {
      const wall = { t: 1_800_000_000_000 };
      const a = peer(1, { now: () => wall.t });
      const b = peer(2, { now: () => wall.t + (sameMs ? 0 : 1) });
      // The same order, rows written in opposite orders, in the same millisecond.
      writeOrder(a.r, "o1", 10, false);
      writeOrder(b.r, "o1", 20, true);
      const toB: Uint8Array[] = [];
      const toA: Uint8Array[] = [];
      a.r.addPeer(2, (m) => void toB.push(m));
      b.r.addPeer(1, (m) => void toA.push(m));
      a.r.tick();
      b.r.tick();
      for (let round = 0; round < 5; round++) {
        for (const m of toB.splice(0)) b.r.receive(1, m);
        for (const m of toA.splice(0)) a.r.receive(2, m);
      }
      expect(a.dump()).toBe(b.dump());
      expect(a.violation()).toBeUndefined();
      // The winner: the higher stamp, then the higher peer id on a tie.
      const epoch = JSON.parse(a.dump())[0][0][2];
      expect(epoch).toBe(20);
    }
  });

  it("a group whose parts disagree is refused whole, typed and counted; nothing of it merges", () => {
    const a = peer(1, { maxBatchPatches: 2 });
    const b = peer(2);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1); // 5 patches: messages of 2, 2, 1
    b.r.receive(1, sent[0]!);
    const before = b.dump();
    // The next part again, claiming other bounds for the same transaction.
    const msg = decodeWire(sent[1]!);
    if (msg.kind !== "patches") throw new Error("not patches");
    const forged = encodeWire({ ...msg, groups: [{ peerId: 1, first: 2, last: 5 }] }, 2);
    let code = "";
    try {
      b.r.receive(1, forged);
    } catch (e) {
      code = isReplicError(e) ? e.code : String(e);
    }
    expect(code).toBe("GROUP_MISMATCH");
    expect(metric(b.r, "groups_refused_total")).toBe(1);
    expect(b.dump()).toBe(before);
    expect(b.r.status().incompleteGroups.patches).toBe(2);
    // Another stamp for a part of the same group: refused too.
    const restamped = encodeWire({ ...msg, patches: msg.patches.map((p) => ({ ...p, patchedAt: p.patchedAt + 1 })) }, 2);
    expect(() => b.r.receive(1, restamped)).toThrow(/another stamp/);
    // The honest parts still complete it.
    b.r.receive(1, sent[1]!);
    b.r.receive(1, sent[2]!);
    expect(b.dump()).toBe(a.dump());
  });

  it("a neighbour that never sends the rest holds at most maxIncompletePatches parts; the rest is refused and counted", () => {
    const a = peer(1, { maxBatchPatches: 1 });
    const b = peer(2, { maxIncompletePatches: 3 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    a.r.upsertMany("order_lines", [1, 2, 3, 4, 5, 6].map((n) => ({ orderId: "o1", n, qty: n, epoch: 1 })));
    for (const m of sent.slice(0, 5)) b.r.receive(1, m);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: 3 });
    expect(metric(b.r, "incomplete_refused_total")).toBe(2);
    expect(b.dump()).toBe("[[],[]]");
    // A message bringing every missing part completes the group without storing them: gap repair
    // asks a neighbour that holds the group (c, which serves whole messages) for what was refused.
    const c = peer(3);
    for (const m of sent) c.r.receive(1, m);
    expect(c.dump()).toBe(a.dump());
    b.r.addPeer(3, (m) => c.r.receive(2, m));
    c.r.addPeer(2, (m) => b.r.receive(3, m));
    c.r.tick();
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups.count).toBe(0);
  });

  it("parts wait in runs of consecutive sequences, a row each, cut at a gap and at the bound; the rest is refused", () => {
    const a = peer(1);
    const b = peer(2, { maxIncompletePatches: 6 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    a.r.upsertMany("order_lines", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => ({ orderId: "o1", n, qty: n, epoch: 1 })));
    const whole = decodeMessage(sent[0]!);
    if (whole.kind !== "patches") throw new Error("expected patches");
    const part = (seqs: number[]) => encodeMessage({ ...whole, patches: whole.patches.filter((p) => seqs.includes(p.seq)) });
    // 1, 2, 3 and 5: two runs; then 6..9: one run, cut at the bound (two parts fit), the rest refused.
    b.r.receive(1, part([5, 3, 1, 2]));
    expect(b.d.prepare("SELECT seq, through FROM _replic_incomplete ORDER BY seq").all([])).toEqual([
      [1, 3],
      [5, 5],
    ]);
    b.r.receive(1, part([6, 7, 8, 9]));
    expect(b.d.prepare("SELECT seq, through FROM _replic_incomplete ORDER BY seq").all([])).toEqual([
      [1, 3],
      [5, 5],
      [6, 7],
    ]);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: 6 });
    expect(metric(b.r, "incomplete_parked_total")).toBe(6);
    expect(metric(b.r, "incomplete_refused_total")).toBe(2);
    expect(b.dump()).toBe("[[],[]]");
    // The parts not stored, and the one never sent, complete the group with the stored runs.
    b.r.receive(1, part([4, 8, 9, 10]));
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
    expect(b.d.prepare("SELECT count(*) FROM _replic_incomplete").get([])).toEqual([0]);
  });

  it("a group still incomplete past the retention window is reported once, never half-applied", () => {
    const wall = { t: 1_800_000_000_000 };
    const a = peer(1, { maxBatchPatches: 1, now: () => wall.t });
    const b = peer(2, { now: () => wall.t, retentionMs: 60_000 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    b.r.receive(1, sent[0]!);
    const events: unknown[] = [];
    b.r.on("incomplete_group", (e) => events.push(e));
    b.r.tick();
    expect(events).toHaveLength(0);
    wall.t += 61_000;
    b.r.tick();
    b.r.tick();
    expect(events).toEqual([{ peerId: 1, first: 1, last: 5, parts: 1, patchedAt: expect.any(Number) }]);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: 1 });
    expect(b.r.status().incompleteGroups.oldestAgeMs).toBeGreaterThanOrEqual(61_000);
    expect(metric(b.r, "incomplete_groups_overdue_total")).toBe(1);
    expect(b.dump()).toBe("[[],[]]");
  });

  it("parts waiting for their group survive a restart and complete after it", () => {
    const d = testDriver();
    const a = peer(1, { maxBatchPatches: 2 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    let b = createReplica(d, { peerId: 2, heartbeatMs: 0 });
    b.migrate(ORDERS_MIGRATIONS);
    b.receive(1, sent[0]!);
    b.receive(1, sent[1]!);
    b.close();
    b = createReplica(d, { peerId: 2, heartbeatMs: 0 });
    open.push(b);
    expect(b.status().incompleteGroups).toMatchObject({ count: 1, patches: 4 });
    expect(dumpOrders(d)).toBe("[[],[]]");
    b.receive(1, sent[1]!); // a duplicate part: ignored
    expect(b.status().incompleteGroups.patches).toBe(4);
    b.receive(1, sent[2]!);
    expect(dumpOrders(d)).toBe(a.dump());
  });

  it("serving a part of a group names the whole group, so a late joiner asks for the rest", () => {
    const a = peer(1);
    const b = peer(2);
    const c = peer(3, { maxBatchPatches: 2, maxInflightPatches: 2 });
    const toB: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void toB.push(m));
    writeOrder(a.r, "o1", 1);
    for (const m of toB.splice(0)) b.r.receive(1, m);
    // c learns the group only from b, a relay that re-batches it in messages of 2.
    const q: Array<() => void> = [];
    b.r.addPeer(3, (m) => void q.push(() => c.r.receive(2, m)));
    c.r.addPeer(2, (m) => void q.push(() => b.r.receive(3, m)));
    b.r.tick();
    for (let i = 0; i < 200 && q.length > 0; i++) {
      q.shift()!();
      expect(c.violation()).toBeUndefined();
      if (q.length === 0) {
        b.r.tick();
        c.r.tick();
      }
    }
    expect(c.dump()).toBe(a.dump());
  });

  it("a group above the message limit is split on the wire and still applied whole", () => {
    const a = peer(1, { limits: { maxMessageBytes: 4096 } });
    const b = peer(2, { limits: { maxMessageBytes: 4096 } });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    const big = "x".repeat(1500);
    a.r.transaction(() => {
      a.r.upsert("orders", { id: big, total: 4, epoch: 1 });
      for (let n = 1; n <= 4; n++) a.r.upsert("order_lines", { orderId: big, n, qty: 1, epoch: 1 });
    });
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const m of sent) expect(m.length).toBeLessThanOrEqual(4096);
    for (const [i, m] of sent.entries()) {
      b.r.receive(1, m);
      expect(b.violation()).toBeUndefined();
      if (i < sent.length - 1) expect(b.dump()).toBe("[[],[]]");
    }
    expect(b.dump()).toBe(a.dump());
  });

  it("names what disagrees: another stamp within one message's parts, an overlap with a waiting group, with a merged group", () => {
    const a = peer(1, { maxBatchPatches: 2 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1); // 1..5 in messages of 2, 2, 1
    writeOrder(a.r, "o2", 2); // 6..10
    const parts = sent.map((m) => decodeWire(m));
    const first = parts[0]!;
    if (first.kind !== "patches") throw new Error("not patches");
    const refuse = (r: Replica, bytes: Uint8Array) => {
      try {
        r.receive(1, bytes);
      } catch (e) {
        return `${isReplicError(e) ? e.code : "?"}: ${(e as Error).message}`;
      }
      return "accepted";
    };
    // Parts from two stores disagreeing on the stamp reach takeGroup through a released hold and
    // a message alike; within one message the decoder already refuses them.
    const b = peer(2);
    b.r.receive(1, sent[0]!); // 1..2 of 1..5 wait
    const overlapping = encodeWire({ ...first, patches: first.patches.map((p) => ({ ...p, seq: p.seq + 1 })), groups: [{ peerId: 1, first: 2, last: 6 }] }, 2);
    expect(refuse(b.r, overlapping)).toBe("GROUP_MISMATCH: group 1.2-6 overlaps group 1.1-5 received before: message refused");
    const restamped = encodeWire({ ...first, patches: first.patches.map((p) => ({ ...p, seq: p.seq + 2, patchedAt: p.patchedAt + 7 })) }, 2);
    expect(refuse(b.r, restamped)).toBe("GROUP_MISMATCH: group 1.1-5 arrives with another stamp than its parts received before: message refused");
    expect(metric(b.r, "groups_refused_total")).toBe(2);
    expect(metric(b.r, "receive_errors_total")).toBe(2);
    // A group merged whole here; a part claiming other bounds over its sequences is refused.
    const c = peer(3);
    for (const m of sent.slice(0, 3)) c.r.receive(1, m);
    expect(c.dump()).toBe(JSON.stringify([[["o1", 14, 1]], [1, 2, 3, 4].map((n) => ["o1", n, 1 + n, 1])]));
    const later = parts[3]!;
    if (later.kind !== "patches") throw new Error("not patches");
    const claim = encodeWire({ ...later, groups: [{ peerId: 1, first: 5, last: 10 }] }, 2);
    expect(refuse(c.r, claim)).toBe("GROUP_MISMATCH: group 1.5-10 overlaps group 1.1-5 merged before: message refused");
    expect(metric(c.r, "groups_refused_total")).toBe(1);
    // The honest rest goes through, and duplicates of waiting or merged parts count as duplicates.
    for (const m of sent.slice(3)) c.r.receive(1, m);
    c.r.receive(1, sent[3]!);
    expect(metric(c.r, "groups_completed_total")).toBe(2);
    expect(metric(c.r, "patches_duplicate_total")).toBe(2);
    expect(c.dump()).toBe(a.dump());
  });

  it("a far-future group is held whole and, once due, merges whole even when the hold releases it in parts", () => {
    const wall = { t: 1_800_000_000_000 };
    const a = peer(1, { maxBatchPatches: 1, now: () => wall.t + 3_600_000 }); // an hour ahead
    const b = peer(2, { now: () => wall.t, maxClockDriftMs: 1000 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    for (const m of sent) b.r.receive(1, m);
    expect(b.r.status().heldPatches).toBe(5);
    expect(b.r.status().incompleteGroups.count).toBe(0);
    b.r.tick();
    expect(b.dump()).toBe("[[],[]]");
    wall.t += 3_600_000;
    b.r.tick();
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().heldPatches).toBe(0);
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
    expect(metric(b.r, "patches_released_total")).toBe(5);
    expect(metric(b.r, "groups_completed_total")).toBe(1);
  });

  it("a part already merged here through an older build (no group) counts towards completing its group", () => {
    const a = peer(1, { maxBatchPatches: 5 });
    const b = peer(2);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    const msg = decodeWire(sent[0]!);
    if (msg.kind !== "patches") throw new Error("not patches");
    // 1 and 2 arrive without their group (relayed through an older build), 3..5 with it.
    const { groups: _, ...bare } = msg;
    b.r.receive(1, encodeWire({ ...bare, patches: msg.patches.slice(0, 2) }, 1));
    expect(JSON.parse(b.dump())[0]).toHaveLength(1); // no boundary known: the order shows
    b.r.receive(1, encodeWire({ ...msg, patches: msg.patches.slice(2) }, 2));
    expect(b.dump()).toBe(a.dump());
    expect(metric(b.r, "groups_completed_total")).toBe(1);
    expect(metric(b.r, "incomplete_parked_total")).toBe(0);
  });

  it("parts merged above a hole through an older build count too: the group completes once its first parts arrive", () => {
    const a = peer(1, { maxBatchPatches: 5 });
    const b = peer(2);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    const msg = decodeWire(sent[0]!);
    if (msg.kind !== "patches") throw new Error("not patches");
    const { groups: _, ...bare } = msg;
    // 3 and 4 without their group: merged above a hole (1 and 2 are missing).
    b.r.receive(1, encodeWire({ ...bare, patches: msg.patches.slice(2, 4) }, 1));
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toMatchObject({ contiguous: 0, highest: 4 });
    b.r.receive(1, encodeWire({ ...msg, patches: [msg.patches[4]!] }, 2)); // 5 of 1..5: 3 and 4 count, 1 and 2 lack
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: 1 });
    b.r.receive(1, encodeWire({ ...msg, patches: msg.patches.slice(0, 2) }, 2));
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups.count).toBe(0);
  });

  it("counts only what is held inside the group's range: merged patches beyond it, or at its ends, are told apart", () => {
    const a = peer(1, { maxBatchPatches: 1 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    a.r.upsert("orders", { id: "x1", total: 0, epoch: 0 }); // 1
    a.r.upsert("orders", { id: "x2", total: 0, epoch: 0 }); // 2
    writeOrder(a.r, "o1", 1); // 3..7
    a.r.upsert("orders", { id: "x8", total: 0, epoch: 0 }); // 8
    a.r.upsert("orders", { id: "x9", total: 0, epoch: 0 }); // 9
    const bare = (i: number) => {
      const msg = decodeWire(sent[i]!);
      if (msg.kind !== "patches") throw new Error("not patches");
      const { groups: _, ...rest } = msg;
      return encodeWire(rest, 1);
    };
    const b = peer(2);
    const seen = () => JSON.parse(b.dump())[1].length as number;
    // 8 and 9 (beyond the group) and 3 (its first sequence) merged without a group, above a hole.
    for (const i of [7, 8, 2]) b.r.receive(1, bare(i));
    expect(b.r.status().origins.find((o) => o.peerId === 1)!.contiguous).toBe(0);
    b.r.receive(1, sent[6]!); // 7, the group's last
    b.r.receive(1, sent[5]!); // 6
    b.r.receive(1, sent[4]!); // 5: 3, 5, 6, 7 of 3..7 are here; 4 lacks
    expect(seen()).toBe(0);
    b.r.receive(1, sent[3]!); // 4: whole
    expect(seen()).toBe(4);
    // The group's last sequence merged without its group counts too.
    const c = peer(3);
    c.r.receive(1, bare(6)); // 7
    expect(JSON.parse(c.dump())[1]).toHaveLength(1); // no boundary known for it: it shows
    for (const i of [2, 3, 4]) c.r.receive(1, sent[i]!); // 3, 4, 5 wait: 6 lacks
    expect(JSON.parse(c.dump())[1]).toHaveLength(1);
    c.r.receive(1, sent[5]!); // 6
    expect(JSON.parse(c.dump())[1]).toHaveLength(4);
  });

  it("parts held as far-future from different messages that disagree are dropped at release; the honest group completes and rounds go on", () => {
    const wall = { t: 1_800_000_000_000 };
    const a = peer(1, { maxBatchPatches: 1, now: () => wall.t + 3_600_000 });
    const b = peer(2, { now: () => wall.t, maxClockDriftMs: 1000 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1);
    const forged = decodeWire(sent[1]!);
    if (forged.kind !== "patches") throw new Error("not patches");
    // Part 2 restamped (5 later): held like the honest parts, each alone looks fine.
    b.r.receive(1, encodeWire({ ...forged, patches: forged.patches.map((p) => ({ ...p, patchedAt: p.patchedAt + 5 })) }, 2));
    for (const i of [0, 2, 3, 4]) b.r.receive(1, sent[i]!);
    expect(b.r.status().heldPatches).toBe(5);
    wall.t += 3_600_000 + 10;
    expect(() => b.r.tick()).not.toThrow();
    expect(metric(b.r, "groups_refused_total")).toBeGreaterThanOrEqual(1);
    expect(b.r.status().heldPatches).toBe(0);
    expect(b.dump()).toBe("[[],[]]");
    b.r.receive(1, sent[1]!); // the honest part 2
    expect(b.dump()).toBe(a.dump());
  });

  it("a part naming a table unknown here is kept whole with its group and relayed with it, so a replica that knows the table still waits for the rest", () => {
    const a = peer(1, { maxBatchPatches: 1 });
    const b = createReplica(testDriver(), { peerId: 2, heartbeatMs: 0 });
    b.migrate([{ up: ORDERS_DDL.slice(0, ORDERS_DDL.indexOf("CREATE TABLE order_lines")), down: "DROP TABLE orders_patches; DROP TABLE orders;" }]);
    open.push(b);
    const c = peer(3);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    const relayed: Uint8Array[] = [];
    b.addPeer(3, (m) => void relayed.push(m));
    writeOrder(a.r, "o1", 1, true); // lines first: the first four messages name only order_lines
    b.receive(1, sent[0]!);
    expect(relayed.length).toBeGreaterThan(0);
    const msg = decodeWire(relayed[relayed.length - 1]!);
    expect(msg.kind === "patches" && msg.groups).toEqual([{ peerId: 1, first: 1, last: 5 }]);
    for (const m of relayed.splice(0)) c.r.receive(2, m);
    expect(c.violation()).toBeUndefined();
    expect(c.dump()).toBe("[[],[]]");
    for (const m of sent.slice(1)) b.receive(1, m);
    for (const m of relayed.splice(0)) {
      c.r.receive(2, m);
      expect(c.violation()).toBeUndefined();
    }
    expect(c.dump()).toBe(a.dump());
  });

  it("a neighbour's wire version is read from what it sends: three version 1 heartbeats make it an older build, patches of version 1 do not, a version 2 message undoes it", () => {
    const a = peer(1);
    const out: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void out.push(m));
    const hb = (v: number) => encodeWire({ kind: "heartbeat", clock: 1, heads: [] }, v);
    const lastVersion = () => {
      out.length = 0;
      writeOrder(a.r, `o${Math.random()}`, 1);
      const m = out[out.length - 1]!;
      const d = decodeWire(m);
      return [m[1], d.kind === "patches" ? (d.groups?.length ?? 0) : -1];
    };
    expect(lastVersion()).toEqual([2, 1]);
    const v1patches = encodeWire({ kind: "patches", tables: [{ name: "orders", columns: ["id"] }], patches: [{ table: 0, peerId: 2, seq: 1, patchedAt: 1, columns: [0], values: ["p"] }] }, 1);
    for (let i = 0; i < 3; i++) a.r.receive(2, v1patches);
    expect(lastVersion()).toEqual([2, 1]);
    a.r.receive(2, hb(1));
    a.r.receive(2, hb(1));
    expect(lastVersion()).toEqual([2, 1]);
    a.r.receive(2, hb(1));
    expect(lastVersion()).toEqual([1, 0]); // an older build: the group is left out
    a.r.receive(2, hb(2));
    expect(lastVersion()).toEqual([2, 1]);
    expect(metric(a.r, "groups_refused_total")).toBe(0);
  });

  it("only a group mismatch counts as a refused group: other refusals do not", () => {
    const b = peer(2);
    expect(() => b.r.receive(1, new Uint8Array([0x72, 0x02, 0x01, 0, 0, 0, 0]))).toThrow();
    const unknownColumnsOnly = encodeWire({ kind: "patches", tables: [{ name: "orders", columns: ["total"] }], patches: [{ table: 0, peerId: 1, seq: 1, patchedAt: 1, columns: [0], values: [1] }] }, 1);
    expect(() => b.r.receive(1, unknownColumnsOnly)).toThrow(/MISSING_PRIMARY_KEY|primary-key/);
    expect(metric(b.r, "receive_errors_total")).toBe(1);
    expect(metric(b.r, "groups_refused_total")).toBe(0);
  });

  it("a part claiming the same first sequence as a merged group but another last one is refused", () => {
    const a = peer(1, { maxBatchPatches: 1 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    writeOrder(a.r, "o1", 1); // 1..5
    writeOrder(a.r, "o2", 2); // 6..10
    const c = peer(3);
    for (const m of sent.slice(0, 5)) c.r.receive(1, m);
    const sixth = decodeWire(sent[5]!);
    if (sixth.kind !== "patches") throw new Error("not patches");
    const code = (bytes: Uint8Array) => {
      try {
        c.r.receive(1, bytes);
        return "accepted";
      } catch (e) {
        return isReplicError(e) ? e.code : String(e);
      }
    };
    expect(code(encodeWire({ ...sixth, groups: [{ peerId: 1, first: 1, last: 6 }] }, 2))).toBe("GROUP_MISMATCH");
    expect(code(encodeWire({ ...sixth, groups: [{ peerId: 1, first: 2, last: 6 }] }, 2))).toBe("GROUP_MISMATCH");
    expect(code(sent[5]!)).toBe("accepted");
  });
});

describe("inbound: a group larger than maxGroupInMemory merges from storage (small)", () => {
  // 44 parts wait in 11 runs (above 10 in memory), read 4 runs at a time; the twelfth message completes the group.
  largeGroupCases({ rows: 47, batch: 4, inMemory: 10, failAt: 30 }, { peer, open });
});
