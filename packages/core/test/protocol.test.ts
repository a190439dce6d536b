import { afterEach, describe, expect, it } from "vitest";
import { createServer, request as httpRequest, type Server } from "node:http";
import {
  createReplica,
  decodeMessage,
  decodeWire,
  encodeMessage,
  encodeWire,
  crc32,
  readYourWrites,
  withReadYourWrites,
  ReplicError,
  StaleReplicaError,
  TimeoutError,
  type Replica,
} from "../src/index.js";
import { testDriver } from "./helpers.js";
import { ITEMS_DDL, rng } from "./sim.js";

const MIGRATIONS = [{ up: ITEMS_DDL, down: "DROP TABLE items_patches; DROP TABLE items;" }];

function peer(id: number, opts: Record<string, unknown> = {}) {
  const d = testDriver();
  const r = createReplica(d, { peerId: id, heartbeatMs: 0, ...opts });
  r.migrate(MIGRATIONS);
  return { r, db: d.db, dump: () => JSON.stringify(d.db.prepare("SELECT * FROM items ORDER BY id").raw(true).all()) };
}

/** Wires a and b with a controllable queue so tests choose what gets lost. */
function link(a: Replica, b: Replica, q: Array<() => void>, filter: (from: number, bytes: Uint8Array) => boolean = () => true) {
  a.addPeer(b.peerId, (m) => filter(a.peerId, m) && q.push(() => b.receive(a.peerId, m)));
  b.addPeer(a.peerId, (m) => filter(b.peerId, m) && q.push(() => a.receive(b.peerId, m)));
}
function drain(q: Array<() => void>) {
  for (let i = 0; i < 100_000 && q.length > 0; i++) q.shift()!();
  expect(q.length).toBe(0);
}

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

describe("gap and tail-loss repair", () => {
  it("repairs lost tail patches from a third peer when the origin stays silent", () => {
    const a = peer(1), b = peer(2), c = peer(3);
    const q: Array<() => void> = [];
    let dropAtoB = true;
    // a-b, a-c, b-c: a's last patches never reach b directly.
    link(a.r, b.r, q, (from, bytes) => !(from === 1 && dropAtoB && decodeWire(bytes).kind === "patches"));
    link(a.r, c.r, q);
    link(b.r, c.r, q, (from, bytes) => !(from === 3 && decodeWire(bytes).kind === "patches" && isRelayOfA(bytes)));
    function isRelayOfA(bytes: Uint8Array) {
      const m = decodeMessage(bytes);
      return m.kind === "patches" && m.patches.every((p) => p.peerId === 1) && !repairing;
    }
    let repairing = false;
    for (let i = 0; i < 10; i++) a.r.upsert("items", { id: i, name: `n${i}` });
    drain(q);
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toBeUndefined();
    // The origin goes silent: it sends nothing more. Heartbeats from c reveal the tail to b.
    a.r.removePeer(2);
    a.r.removePeer(3);
    repairing = true;
    c.r.tick();
    drain(q);
    b.r.tick();
    drain(q);
    expect(b.dump()).toBe(a.dump());
    expect(b.r.metrics()).toMatch(/replic_gaps_requested_total [1-9]/);
    expect(c.r.metrics()).toMatch(/replic_gaps_served_total [1-9]/);
    dropAtoB = false;
  });

  it("detects a hole in the middle and asks any holder, rotating after a timeout", () => {
    let now = 1_000_000;
    const clock = { now: () => now, requestTimeoutMs: 100 };
    const a = peer(1, clock), b = peer(2, clock), c = peer(3, clock);
    const q: Array<() => void> = [];
    let cAnswers = false;
    link(a.r, b.r, q, (from, bytes) => {
      const m = decodeMessage(bytes);
      return !(from === 1 && m.kind === "patches" && m.patches.some((p) => p.seq === 5));
    });
    link(b.r, c.r, q, (from, bytes) => cAnswers || !(from === 3 && decodeWire(bytes).kind === "patches"));
    link(a.r, c.r, q, (from, bytes) => decodeWire(bytes).kind !== "request" || from !== 3);
    for (let i = 1; i <= 9; i++) a.r.upsert("items", { id: i, qty: i });
    drain(q);
    a.r.removePeer(2); // b can only get seq 5 from c now
    c.r.tick();
    drain(q);
    b.r.tick();
    drain(q);
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toMatchObject({ contiguous: 4, highest: 9, missing: 1 });
    cAnswers = true;
    now += 1000; // the first request timed out: asked again
    b.r.tick();
    drain(q);
    expect(b.dump()).toBe(a.dump());
  });
});

describe("relay and catch-up", () => {
  it("streams a far-behind peer in bounded batches, never one giant message", () => {
    const a = peer(1, { maxBatchPatches: 500, maxInflightPatches: 2000 });
    const b = peer(2, { maxBatchPatches: 500, maxInflightPatches: 2000 });
    a.r.transaction(() => {
      for (let i = 0; i < 20_000; i++) a.r.upsert("items", { id: i, name: `item ${i}`, qty: i });
    });
    const q: Array<() => void> = [];
    let biggest = 0;
    link(a.r, b.r, q, (_from, bytes) => {
      const m = decodeMessage(bytes);
      if (m.kind === "patches") biggest = Math.max(biggest, m.patches.length);
      return true;
    });
    a.r.tick();
    drain(q);
    expect(b.dump()).toBe(a.dump());
    expect(biggest).toBeLessThanOrEqual(500);
    expect(b.r.metrics()).toMatch(/replic_patches_applied_total 20000/);
    // One transaction is one group: it waited in parts and merged whole.
    expect(b.r.metrics()).toMatch(/replic_groups_completed_total 1$/m);
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
  }, 60_000);

  it("converges on a line a-b-c-d through relays only", () => {
    const ps = [peer(1), peer(2), peer(3), peer(4)];
    const q: Array<() => void> = [];
    for (let i = 1; i < ps.length; i++) link(ps[i - 1]!.r, ps[i]!.r, q);
    ps[0]!.r.upsert("items", { id: 1, name: "from a" });
    ps[3]!.r.upsert("items", { id: 2, name: "from d" });
    drain(q);
    for (const p of ps) expect(p.dump()).toBe(ps[0]!.dump());
    expect(JSON.parse(ps[1]!.dump())).toHaveLength(2);
  });
});

describe("clock bound", () => {
  it("does not follow a clock far ahead, holds its patches until our clock is within the bound, and converges", () => {
    let aNow = 1_000_000_000_000;
    const a = peer(1, { now: () => aNow });
    const b = peer(2, { now: () => 1_000_000_000_000 + 3_600_000, maxClockDriftMs: 60_000 }); // b an hour ahead
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    b.r.tick();
    drain(q);
    expect(a.r.metrics()).toMatch(/replic_clock_drift_rejections_total [1-9]/);
    b.r.upsert("items", { id: 1, name: "future" });
    drain(q);
    // Held, not merged: it would hide every write of the next hour.
    expect(a.dump()).toBe("[]");
    expect(a.r.status().heldPatches).toBe(1);
    expect(a.r.metrics()).toMatch(/replic_patches_held_total 1/);
    a.r.upsert("items", { id: 1, name: "now" });
    drain(q);
    expect(JSON.parse(a.dump())[0][1]).toBe("now");
    // An hour later a's clock is within the bound: the held patch merges and wins (it is later).
    aNow += 3_600_000;
    a.r.tick();
    drain(q);
    b.r.tick();
    drain(q);
    expect(a.r.status().heldPatches).toBe(0);
    expect(a.r.metrics()).toMatch(/replic_patches_released_total 1/);
    expect(a.dump()).toBe(b.dump());
    expect(JSON.parse(a.dump())[0][1]).toBe("future");
    const peerB = a.r.status().peers.find((p) => p.peerId === 2)!;
    expect(peerB.clockDriftMs!).toBeGreaterThan(-5_000);
    // b's heartbeat told a what b holds of each origin.
    expect(peerB.heads).toEqual(
      expect.arrayContaining([
        { peerId: 1, contiguous: 1, highest: 1, retainedFrom: 1 },
        { peerId: 2, contiguous: 1, highest: 1, retainedFrom: 1 },
      ]),
    );
  });
});

describe("read-your-own-writes", () => {
  it("waitFor resolves once merged and times out with a typed error otherwise", async () => {
    const a = peer(1), b = peer(2);
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    const token = a.r.upsert("items", { id: 1, name: "x" });
    await expect(a.r.waitFor(token, 10)).resolves.toBeUndefined();
    const waiting = b.r.waitFor(token, 5000);
    drain(q);
    await expect(waiting).resolves.toBeUndefined();
    const t2 = a.r.upsert("items", { id: 2 });
    q.length = 0; // lost
    await expect(b.r.waitFor(t2, 30)).rejects.toBeInstanceOf(TimeoutError);
    await expect(b.r.waitFor("nonsense", 30)).rejects.toMatchObject({ code: "INVALID_TOKEN" });
    const pending = b.r.waitFor(`${a.r.peerId}.99`, 10_000);
    b.r.close();
    await expect(pending).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("HTTP middleware waits for the token on a real loopback server", async () => {
    const a = peer(1), b = peer(2);
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    const mw = readYourWrites(b.r, { timeoutMs: 300 });
    const server: Server = createServer((req, res) =>
      mw(req, res, () => {
        res.end(JSON.stringify(b.db.prepare("SELECT name FROM items WHERE id = 1").pluck().get() ?? null));
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/", headers }, (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject);
        req.end();
      });
    try {
      const token = a.r.upsert("items", { id: 1, name: "written on a" });
      const slow = get({ "x-replic-token": token });
      setTimeout(() => drain(q), 50); // the write arrives while the request waits
      expect(await slow).toEqual({ status: 200, body: '"written on a"' });
      const lost = a.r.upsert("items", { id: 1, name: "never arrives" });
      q.length = 0;
      expect((await get({ cookie: `other=1; replic_token=${lost}` })).status).toBe(504);
      expect((await get({ "x-replic-token": "bad" })).status).toBe(400);
      expect(await get({})).toEqual({ status: 200, body: '"written on a"' });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("fetch-style wrapper waits, then calls the handler", async () => {
    const a = peer(1), b = peer(2);
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    const handler = withReadYourWrites(b.r, () => new Response(String(b.db.prepare("SELECT count(*) FROM items").pluck().get())), { timeoutMs: 200 });
    const token = a.r.upsert("items", { id: 1 });
    setTimeout(() => drain(q), 20);
    const res = await handler(new Request("http://127.0.0.1/", { headers: { "x-replic-token": token } }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1");
    const lost = a.r.upsert("items", { id: 2 });
    q.length = 0;
    expect((await handler(new Request("http://127.0.0.1/", { headers: { "x-replic-token": lost } }))).status).toBe(504);
  });
});

describe("retention", () => {
  it("collects old patches and marks a peer that fell behind as needing a re-seed", () => {
    let now = 1_000_000_000_000;
    const day = 24 * 3600 * 1000;
    const opts = { now: () => now, retentionMs: day };
    const a = peer(1, opts), b = peer(2, opts), c = peer(3, opts);
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    for (let i = 0; i < 10; i++) a.r.upsert("items", { id: i, qty: i });
    drain(q);
    now += 2 * day;
    a.r.upsert("items", { id: 100, qty: 1 });
    drain(q);
    expect(a.r.gc()).toBe(10);
    expect(b.r.gc()).toBe(10);
    expect(a.db.prepare("SELECT count(*) FROM items_patches").pluck().get()).toBe(1);
    // c joins late: nobody retains a's first ten patches any more.
    const stale: StaleReplicaError[] = [];
    c.r.on("stale", (e) => stale.push(e));
    link(b.r, c.r, q);
    const waiting = c.r.waitFor("1.3", 10_000);
    b.r.tick();
    drain(q);
    c.r.tick();
    drain(q);
    expect(stale).toHaveLength(1);
    expect(stale[0]).toBeInstanceOf(StaleReplicaError);
    expect(stale[0]!.code).toBe("NEEDS_RESEED");
    expect(c.r.status().staleOrigins).toEqual([1]);
    expect(c.r.metrics()).toMatch(/replic_stale_origins 1/);
    return expect(waiting).rejects.toBeInstanceOf(StaleReplicaError);
  });

  it("collects an origin's oldest run of old patches and never a patch younger than the window", () => {
    let now = 1_000_000_000_000;
    const day = 24 * 3600 * 1000;
    const b = peer(2, { now: () => now, retentionMs: day, maxClockDriftMs: 10 * day });
    // Origin 1 stamped seq 2 a day later than seq 1 and 3 (its clock jumped and came back: not
    // what replic writes, but a neighbour may send it). Seq 4 is old again.
    const ts = (ms: number) => ms * 2048;
    const stamps = [now - 5 * day, now - day / 2, now - 5 * day, now - 4 * day];
    b.r.receive(1, encodeMessage({ kind: "patches", patches: stamps.map((ms, i) => ({ table: "items", peerId: 1, seq: i + 1, patchedAt: ts(ms), values: { id: i, qty: i } })) }));
    const seqs = () => b.db.prepare("SELECT _sequenceId FROM items_patches WHERE _peerId = 1 ORDER BY 1").pluck().all();
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(b.r.gc()).toBe(1); // seq 1 only: seq 2 is inside the window, so 3 and 4 wait for it
    expect(seqs()).toEqual([2, 3, 4]);
    expect(b.r.gc()).toBe(0);
    now += day;
    expect(b.r.gc()).toBe(3);
    expect(seqs()).toEqual([]);
  });

  it("refuses a late patch older than the horizon instead of merging it wrongly", () => {
    let now = 1_000_000_000_000;
    const day = 24 * 3600 * 1000;
    const b = peer(2, { now: () => now, retentionMs: day });
    b.r.upsert("items", { id: 1, name: "new" });
    now += 2 * day;
    b.r.upsert("items", { id: 2, name: "x" });
    b.r.gc();
    const before = b.dump();
    // a's patch is older than b's horizon: b may have collected later patches of that row.
    b.r.receive(1, encodeMessage({ kind: "patches", patches: [{ table: "items", peerId: 1, seq: 1, patchedAt: 1, values: { id: 1, name: "ancient" } }] }));
    expect(b.dump()).toBe(before);
    expect(b.r.metrics()).toMatch(/replic_patches_too_old_total 1/);
    // Stale only once a neighbour says that sequence exists: then no one can supply it mergeably.
    expect(b.r.status().staleOrigins).toEqual([]);
    b.r.addPeer(1, () => {});
    b.r.receive(1, encodeWire({ kind: "heartbeat", clock: 1, heads: [{ peerId: 1, contiguous: 1, highest: 1, retainedFrom: 1 }] }));
    expect(b.r.status().staleOrigins).toContain(1);
  });
});

describe("receive never writes part of a bad message", () => {
  it("fuzzed messages either apply whole or change nothing", () => {
    const a = peer(1);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => sent.push(m));
    a.r.transaction(() => {
      for (let i = 0; i < 20; i++) a.r.upsert("items", { id: i % 7, name: `v${i}`, qty: i, price: i / 3, deletedAt: i % 3 ? null : i });
    });
    const good = sent[0]!;
    const r = rng(7);
    const runs = Number(process.env.REPLIC_RECEIVE_FUZZ_RUNS ?? 3000);
    let errors = 0;
    const b = peer(2);
    for (let i = 0; i < runs; i++) {
      const bytes = good.slice();
      for (let k = 0, n = 1 + r.int(4); k < n; k++) bytes[r.int(bytes.length - 4)] ^= 1 + r.int(255);
      // Half get a valid checksum, so the decoder and schema validation are what must refuse them.
      const fixed = r.chance(0.5);
      if (fixed) new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes, bytes.length - 4), true);
      const before = b.dump();
      const patchesBefore = b.db.prepare("SELECT count(*) FROM items_patches").pluck().get();
      try {
        b.r.receive(1, bytes);
        expect(fixed).toBe(true); // corrupted bytes with a stale checksum are never applied
        // Accepted: then it was a well-formed message and every patch in it is now stored.
        const m = decodeMessage(bytes);
        if (m.kind === "patches") {
          for (const p of m.patches) {
            const n = b.db.prepare("SELECT count(*) FROM items_patches WHERE _peerId = ? AND _sequenceId = ?").pluck().get(p.peerId, p.seq);
            expect(n).toBe(1);
          }
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ReplicError);
        expect(b.dump()).toBe(before);
        expect(b.db.prepare("SELECT count(*) FROM items_patches").pluck().get()).toBe(patchesBefore);
        errors++;
      }
    }
    b.r.close();
    expect(errors).toBeGreaterThan(runs / 2);
  }, 120_000);
});

describe("re-seeding from a copy", () => {
  it("a copy of a healthy peer's file becomes a new peer that converges", async () => {
    const { assignNewPeerId } = await import("../src/index.js");
    const a = peer(1), b = peer(2);
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    for (let i = 0; i < 5; i++) a.r.upsert("items", { id: i, qty: i });
    drain(q);
    const copy = testDriver(new (await import("better-sqlite3")).default(b.db.serialize()));
    const id = assignNewPeerId(copy);
    expect(id).not.toBe(2);
    const c = createReplica(copy, { heartbeatMs: 0 });
    expect(c.peerId).toBe(id);
    expect(c.upsert("items", { id: 9, name: "from the copy" })).toBe(`${id}.1`);
    link(b.r, c, q);
    drain(q);
    c.tick();
    b.r.tick();
    drain(q);
    expect(JSON.stringify(copy.db.prepare("SELECT * FROM items ORDER BY id").raw(true).all())).toBe(b.dump());
    c.close();
  });
});

describe("merge events", () => {
  it("name the tables and row keys a local write or a received message touched", () => {
    const a = peer(1), b = peer(2);
    const q: Array<() => void> = [];
    link(a.r, b.r, q);
    const local: unknown[] = [];
    const remote: unknown[] = [];
    a.r.on("merge", (e) => local.push(e));
    b.r.on("merge", (e) => remote.push(e));
    a.r.transaction(() => {
      a.r.upsert("items", { id: 1, name: "x" });
      a.r.upsert("items", { id: 2 });
    });
    drain(q);
    expect(local).toEqual([{ local: true, patches: 2, tables: ["items"], keys: { items: [[1], [2]] } }]);
    expect(remote).toEqual([{ local: false, patches: 2, tables: ["items"], keys: { items: [[1], [2]] } }]);
    a.r.upsertMany("items", [{ id: 3 }, { id: 4, name: "y" }]);
    drain(q);
    expect(local[1]).toEqual({ local: true, patches: 2, tables: ["items"], keys: { items: [[3], [4]] } });
  });
});
