// An older build in the cluster: the build before group patches (packages/core at af4a3bd, kept as
// test/fixtures/core-af4a3bd.js) next to this one. It refuses version 2 messages whole (never a
// misread), is recognised by its version 1 heartbeats, then gets version 1 messages; everyone
// converges. Transactions of this build travelling between replicas of this build stay whole; the
// older build's own transactions were never groups (docs/protocol.md, "Mixed versions").
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, type Replica } from "../src/index.js";
import { dumpOrders, ORDERS_MIGRATIONS, orderViolation } from "./group-sim.js";
import { testDriver } from "./helpers.js";

interface OldCore {
  createReplica(driver: unknown, options: Record<string, unknown>): Replica;
}
const fixture = "./fixtures/core-af4a3bd.js";
const old = (await import(fixture)) as OldCore;

/** orderViolation for the orders written by this build ("o…"; the older build writes "x…"). */
function newWritersViolation(d: ReturnType<typeof testDriver>): string | undefined {
  const copy = testDriver();
  copy.exec(ORDERS_MIGRATIONS[0]!.up);
  const o = d.db.prepare("SELECT * FROM orders WHERE id LIKE 'o%'").all() as Record<string, unknown>[];
  const l = d.db.prepare("SELECT * FROM order_lines WHERE orderId LIKE 'o%'").all() as Record<string, unknown>[];
  for (const r of o) copy.db.prepare("INSERT INTO orders VALUES (@id, @total, @epoch)").run(r);
  for (const r of l) copy.db.prepare("INSERT INTO order_lines VALUES (@orderId, @n, @qty, @epoch)").run(r);
  return orderViolation(copy);
}

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe("mixed versions: a build before group patches in the cluster", () => {
  it("converges with an older build linked to one of two new replicas, writes on all three; the new ones never show half a transaction of a new writer", () => {
    const wall = { t: 1_800_000_000_000 };
    const drivers = [testDriver(), testDriver(), testDriver()];
    const make = [createReplica, old.createReplica, createReplica];
    const rs = drivers.map((d, i) => {
      const r = make[i]!(d, { peerId: i + 1, heartbeatMs: 0, now: () => wall.t, maxBatchPatches: 2, logger: { warn() {} } });
      r.migrate(ORDERS_MIGRATIONS);
      closers.push(() => r.close());
      return r;
    });
    const q: Array<{ to: number; from: number; bytes: Uint8Array }> = [];
    const link = (x: number, y: number) => {
      rs[x]!.addPeer(y + 1, (bytes) => void q.push({ to: y, from: x + 1, bytes }));
      rs[y]!.addPeer(x + 1, (bytes) => void q.push({ to: x, from: y + 1, bytes }));
    };
    link(0, 1); // new (1) - old (2)
    link(0, 2); // new (1) - new (3)
    const refused: string[] = [];
    const drain = () => {
      while (q.length > 0) {
        const m = q.shift()!;
        try {
          rs[m.to]!.receive(m.from, m.bytes);
        } catch (e) {
          refused.push(`${m.to + 1}: ${(e as Error).message}`);
        }
        for (const i of [0, 2]) expect(newWritersViolation(drivers[i]!), `replica ${i + 1}`).toBeUndefined();
      }
    };
    const order = (r: Replica, id: string, epoch: number) =>
      r.transaction(() => {
        r.upsert("orders", { id, total: 10, epoch });
        for (let n = 1; n <= 4; n++) r.upsert("order_lines", { orderId: id, n, qty: n === 1 ? 7 : 1, epoch });
      });
    order(rs[0]!, "o1", 1); // sent as version 2 before anyone knows 2 is older
    drain();
    for (let round = 0; round < 8; round++) {
      wall.t += 1000;
      for (const r of rs) r.tick();
      drain();
      if (round === 2) {
        order(rs[0]!, "o2", 2);
        order(rs[1]!, "x3", 3); // the old build writes too (one stamp per row, no group)
        order(rs[2]!, "o1", 4);
        drain();
      }
    }
    // The old build refused only newer messages (version 2 patches and requests, version 3
    // heartbeats), and only before it was recognised.
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toMatch(/^2: unsupported wire version [23] /);
    const dumps = drivers.map((d) => dumpOrders(d));
    expect(dumps[1]).toBe(dumps[0]);
    expect(dumps[2]).toBe(dumps[0]);
    expect(JSON.parse(dumps[0]!)[0]).toHaveLength(3);
    for (const d of drivers) expect(orderViolation(d)).toBeUndefined();
  });
});

// A build before heads deltas (packages/core at e0b4d50, kept as test/fixtures/core-e0b4d50.js):
// it reads groups (version 2) but refuses version 3 heartbeats and heads requests whole. It is
// recognised by its version 2 heartbeats and then gets full version 2 heartbeats; in a line
// through it, the two new replicas still exchange deltas with nobody but each other's relay.
const fixtureV2 = "./fixtures/core-e0b4d50.js";
const v2 = (await import(fixtureV2)) as OldCore;

describe("mixed versions: a build before heads deltas in the cluster", () => {
  it("a line new – older – new converges with writes on all three; the older build refuses only version 3 heartbeats, and only at first", () => {
    const wall = { t: 1_800_000_000_000 };
    const drivers = [testDriver(), testDriver(), testDriver()];
    const make = [createReplica, v2.createReplica, createReplica];
    const rs = drivers.map((d, i) => {
      const r = make[i]!(d, { peerId: i + 1, heartbeatMs: 0, now: () => wall.t, maxBatchPatches: 2, logger: { warn() {} } });
      r.migrate(ORDERS_MIGRATIONS);
      closers.push(() => r.close());
      return r;
    });
    const q: Array<{ to: number; from: number; bytes: Uint8Array }> = [];
    const link = (x: number, y: number) => {
      rs[x]!.addPeer(y + 1, (bytes) => void q.push({ to: y, from: x + 1, bytes }));
      rs[y]!.addPeer(x + 1, (bytes) => void q.push({ to: x, from: y + 1, bytes }));
    };
    link(0, 1);
    link(1, 2);
    const refused: Array<{ round: number; what: string }> = [];
    let round = 0;
    const drain = () => {
      while (q.length > 0) {
        const m = q.shift()!;
        try {
          rs[m.to]!.receive(m.from, m.bytes);
        } catch (e) {
          refused.push({ round, what: `${m.to + 1}: ${(e as Error).message}` });
        }
      }
    };
    const order = (r: Replica, id: string, epoch: number) =>
      r.transaction(() => {
        r.upsert("orders", { id, total: 10, epoch });
        for (let n = 1; n <= 4; n++) r.upsert("order_lines", { orderId: id, n, qty: n === 1 ? 7 : 1, epoch });
      });
    order(rs[0]!, "o1", 1);
    drain();
    for (round = 1; round <= 10; round++) {
      wall.t += 1000;
      for (const r of rs) r.tick();
      drain();
      if (round === 4) {
        order(rs[0]!, "o2", 2);
        order(rs[1]!, "o3", 3);
        order(rs[2]!, "o4", 4);
        drain();
      }
    }
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.what).toMatch(/^2: unsupported wire version 3 /);
    // Recognised after OLD_BUILD_HEARTBEATS rounds: nothing refused after that.
    expect(Math.max(...refused.map((r) => r.round))).toBeLessThanOrEqual(3);
    const dumps = drivers.map((d) => dumpOrders(d));
    expect(dumps[1]).toBe(dumps[0]);
    expect(dumps[2]).toBe(dumps[0]);
    expect(JSON.parse(dumps[0]!)[0]).toHaveLength(4);
    for (const d of drivers) expect(orderViolation(d)).toBeUndefined();
  });
});
