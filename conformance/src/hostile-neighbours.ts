/**
 * The hostile neighbour and the careless operator: forged own-origin patches and heads, two
 * writers under one peer id, far-future and far-past timestamps, oversized and repeated range
 * requests, heartbeats naming 100,000 origins, a write too large to send, a database opened
 * twice, a patches table dropped; with heads deltas, a neighbour that never answers, one that
 * never asks for our full heads, one back with a fresh database under its id, one that lies in
 * its deltas. Each asserts the typed outcome and that honest replicas
 * still converge (docs/design.md, "faults").
 *
 * Written against the asynchronous world (world.ts): the synchronous bindings run it through
 * `syncWorld`, the Durable Object binding with each database an object inside workerd. The two
 * careless-operator cases that share a database file between connections stay synchronous (a
 * file opened twice); a world whose database is one storage with one live instance runs their
 * one-storage forms instead (a second replica on that storage, the patches table dropped there).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Harness, ITEMS } from "./harness.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { FakeClock } from "./util.js";
import { syncWorld, type World, type WorldOpened, type WorldReplica } from "./world.js";

const T0 = 1_700_000_000_000;
const YEAR = 365 * 24 * 3600_000;

interface Status {
  sequence: number;
  heldPatches: number;
  staleOrigins: number[];
  identityConflicts: { count: number; last: string | null };
  broken: string | null;
  peers: { peerId: number; heads: unknown[] }[];
  origins: { peerId: number }[];
}
interface WireCore {
  encodeMessage(m: unknown): Uint8Array;
  encodeWire(m: unknown, version?: number): Uint8Array;
  decodeWire(b: Uint8Array): { kind: string; ranges?: { peerId: number; from: number; to: number }[]; heads?: unknown[]; digest?: string; form?: string };
  timestampFromMs(ms: number): number;
  isReplicError(e: unknown): boolean;
}


type Queue = Array<() => Promise<unknown>>;

export interface HostileNeighboursOptions {
  /**
   * Registers the careless-operator cases on a database shared by two connections (a file opened
   * twice, a patches table dropped). Unset: their one-storage forms run on the world.
   */
  operatorCases?: () => void;
}

export function hostileNeighboursSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  const dirs: string[] = [];
  afterEach(() => {
    h.closeAll();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), `replic-hostile-${b.name}-`));
    dirs.push(d);
    return d;
  };
  hostileNeighboursBlock(syncWorld(b), { operatorCases: () => fileCases(b, h, tmp) });
}

/** The hostile neighbours block on any world (syncWorld for the synchronous bindings). */
export function hostileNeighboursBlock(w: World, opts: HostileNeighboursOptions = {}): void {
  afterEach(() => w.closeAll());
  const core = w.adapter as unknown as WireCore;
  const status = async (r: WorldReplica) => (await r.status()) as Status;
  const metric = async (r: WorldReplica, name: string) => Number(new RegExp(`^replic_${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(await r.metrics())?.[1] ?? NaN);
  const items = (o: WorldOpened) => o.db.dumpTable("items");
  const patch = (peerId: number, seq: number, patchedAt: number, values: Record<string, unknown>) =>
    core.encodeMessage({ kind: "patches", patches: [{ table: "items", peerId, seq, patchedAt, values }] });
  /** Links two replicas both ways through a queue; drain() delivers until quiet. */
  const pair = async (x: WorldReplica, y: WorldReplica, q: Queue) => {
    await x.addPeer(y.peerId, (m) => void q.push(() => y.receive(x.peerId, m)));
    await y.addPeer(x.peerId, (m) => void q.push(() => x.receive(y.peerId, m)));
  };
  const drain = async (q: Queue, ...tick: WorldReplica[]) => {
    for (let round = 0; round < 6; round++) {
      for (const r of tick) await r.tick();
      while (q.length) await q.shift()!();
    }
  };
  const codeOf = async (fn: () => Promise<unknown>): Promise<string | undefined> => {
    try {
      await fn();
    } catch (e) {
      return (e as { code?: string })?.code;
    }
    return undefined;
  };

  describe("hostile neighbours and careless operators", () => {
    for (const [label, seqOf] of [
      ["2^53-1", () => Number.MAX_SAFE_INTEGER],
      ["+1000", (s: number) => s + 1000],
      ["the next sequence", (s: number) => s + 1],
    ] as const) {
      it(`a forged patch of our own origin (${label}) is refused, raises IDENTITY_CONFLICT and changes nothing`, async () => {
        const clock = new FakeClock(T0);
        const v = await w.open(ITEMS, { peerId: 101, now: clock.now });
        const x = await w.open(ITEMS, { peerId: 102, now: clock.now });
        const q: Queue = [];
        await pair(v.r, x.r, q);
        await v.r.upsert("items", { id: 1, name: "mine" });
        await drain(q, v.r, x.r);
        const seq = (await status(v.r)).sequence;
        await v.r.addPeer(103, () => {});
        await v.r.receive(103, patch(101, seqOf(seq), core.timestampFromMs(T0 + 10), { id: 1, name: "forged" }));
        expect(await items(v)).not.toContain("forged");
        expect((await status(v.r)).sequence).toBe(seq);
        expect((await status(v.r)).identityConflicts.count).toBeGreaterThan(0);
        expect(await metric(v.r, "patches_own_refused_total")).toBe(1);
        // Later writes go on under the genuine sequence and reach the honest neighbour.
        expect(await v.r.upsert("items", { id: 1, name: "after" })).toBe(`101.${seq + 1}`);
        clock.t += 100;
        await drain(q, v.r, x.r);
        expect(await items(x)).toBe(await items(v));
        expect(await items(v)).toContain("after");
      });
    }

    it("an echo of our own patch that differs from what we wrote is a second writer, not merged", async () => {
      const v = await w.open(ITEMS, { peerId: 111 });
      await v.r.upsert("items", { id: 1, name: "mine" });
      await v.r.upsert("items", { id: 2, name: "two" });
      const before = await items(v);
      await v.r.addPeer(112, () => {});
      await v.r.receive(112, patch(111, 1, core.timestampFromMs(T0), { id: 1, name: "other writer" }));
      expect(await items(v)).toBe(before);
      expect((await status(v.r)).identityConflicts.count).toBe(1);
      expect((await status(v.r)).identityConflicts.last).toMatch(/another writer/);
    });

    it("a neighbour advertising our own origin beyond our head raises IDENTITY_CONFLICT; we never ask for our own patches", async () => {
      const v = await w.open(ITEMS, { peerId: 121 });
      await v.r.upsert("items", { id: 1, name: "x" });
      const sent: Uint8Array[] = [];
      await v.r.addPeer(122, (m) => void sent.push(new Uint8Array(m)));
      await v.r.receive(122, core.encodeWire({ kind: "heartbeat", clock: 1, heads: [{ peerId: 121, contiguous: 50, highest: 50, retainedFrom: 1 }] }));
      await v.r.tick();
      expect((await status(v.r)).identityConflicts.count).toBe(1);
      expect((await status(v.r)).sequence).toBe(1);
      const asked = sent.map((m) => core.decodeWire(m)).flatMap((m) => (m.kind === "request" ? m.ranges! : []));
      expect(asked.filter((r) => r.peerId === 121)).toEqual([]);
      expect(await v.r.upsert("items", { id: 2 })).toBe("121.2");
    });

    it("two replicas configured with one peer id in a cluster: IDENTITY_CONFLICT, and honest replicas converge", async () => {
      const clock = new FakeClock(T0);
      const twinClock = new FakeClock(T0 + 7); // another machine: its stamps differ
      const a = await w.open(ITEMS, { peerId: 201, now: clock.now });
      const twin = await w.open(ITEMS, { peerId: 201, now: twinClock.now });
      const bb = await w.open(ITEMS, { peerId: 202, now: clock.now });
      const c = await w.open(ITEMS, { peerId: 203, now: clock.now });
      const d = await w.open(ITEMS, { peerId: 204, now: clock.now });
      const q: Queue = [];
      // a - b - c - twin, and d hangs off b: b and c each first hear one of the two writers.
      await pair(a.r, bb.r, q);
      await pair(bb.r, c.r, q);
      await pair(c.r, twin.r, q);
      await pair(bb.r, d.r, q);
      for (let i = 0; i < 3; i++) await a.r.upsert("items", { id: i, name: `a${i}` });
      for (let i = 0; i < 5; i++) await twin.r.upsert("items", { id: i < 2 ? i : 10 + i, name: `twin${i}` });
      await bb.r.upsert("items", { id: 50, name: "honest" });
      clock.t += 1000;
      twinClock.t += 1000;
      await drain(q, a.r, bb.r, c.r, d.r, twin.r);
      const conflicts: number[] = [];
      for (const o of [a, twin, bb, c, d]) conflicts.push((await status(o.r)).identityConflicts.count);
      expect(conflicts.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
      expect((await status(a.r)).identityConflicts.count + (await status(twin.r)).identityConflicts.count).toBeGreaterThan(0);
      // The honest replicas hold the same rows: for each sequence, the version stamped later.
      const honest = await items(bb);
      expect(await items(c)).toBe(honest);
      expect(await items(d)).toBe(honest);
      expect(honest).toContain("honest");
      expect(honest).toContain("twin0"); // stamped later than a's patch under the same sequence
      expect(honest).not.toContain("a2"); // a's third patch lost to twin's: its row is gone
      expect((await metric(bb.r, "patches_conflicting_total")) + (await metric(c.r, "patches_conflicting_total"))).toBeGreaterThan(0);
      // Neither writer merged the other's patches as its own.
      expect((await status(a.r)).sequence).toBe(3);
      expect(await items(a)).not.toContain("twin");
    });

    it("a patch stamped years ahead is held (not merged, counted) and merged once the clock is within the bound", async () => {
      const clock = new FakeClock(T0);
      const v = await w.open(ITEMS, { peerId: 301, now: clock.now });
      const x = await w.open(ITEMS, { peerId: 302, now: clock.now });
      const q: Queue = [];
      await pair(v.r, x.r, q);
      await v.r.addPeer(303, () => {});
      await x.r.addPeer(303, () => {});
      const future = patch(303, 1, core.timestampFromMs(T0 + 3 * YEAR), { id: 1, name: "from the future" });
      await v.r.receive(303, future);
      await x.r.receive(303, future);
      expect((await status(v.r)).heldPatches).toBe(1);
      expect(await metric(v.r, "patches_held_total")).toBe(1);
      await v.r.upsert("items", { id: 1, name: "today" });
      await drain(q, v.r, x.r);
      // The local write shows: the far-future one does not hide it.
      expect(await items(v)).toContain("today");
      expect(await items(v)).not.toContain("from the future");
      expect(await items(x)).toBe(await items(v));
      clock.t += 3 * YEAR;
      await drain(q, v.r, x.r);
      expect((await status(v.r)).heldPatches).toBe(0);
      expect(await items(v)).toContain("from the future");
      expect(await items(x)).toBe(await items(v));
    });

    it("a patch older than the collection horizon is refused and counted; no neighbour claims it, so nothing is stale", async () => {
      const clock = new FakeClock(T0);
      const v = await w.open(ITEMS, { peerId: 401, now: clock.now, retentionMs: 24 * 3600_000 } as never);
      await v.r.upsert("items", { id: 1, name: "old" });
      clock.t += 3 * 24 * 3600_000;
      await v.r.upsert("items", { id: 2, name: "new" });
      await v.r.gc();
      const before = await items(v);
      await v.r.addPeer(402, () => {});
      await v.r.receive(402, patch(402, 1, 1, { id: 1, name: "ancient" }));
      expect(await items(v)).toBe(before);
      expect(await metric(v.r, "patches_too_old_total")).toBe(1);
      await v.r.tick();
      expect((await status(v.r)).staleOrigins).toEqual([]);
    });

    it("range requests are served within the byte budget per round, overlaps and repeats once", async () => {
      // A still clock: the two requests fall in one serving round however slow the machine is
      // (a round also ends after requestTimeoutMs / 2 of wall time).
      const v = await w.open(ITEMS, { peerId: 501, maxServeBytes: 64 * 1024, maxBatchPatches: 100, now: () => T0 } as never);
      const rows = Array.from({ length: 2000 }, (_, i) => ({ id: i, name: "x".repeat(200) }));
      await v.r.transaction(rows.map((row) => ({ table: "items", row })));
      let bytesOut = 0;
      await v.r.addPeer(502, (m) => void (bytesOut += m.length));
      const ranges = Array.from({ length: 200 }, (_, i) => ({ peerId: 501, from: 1 + (i % 7) * 3, to: 2000 }));
      const request = core.encodeWire({ kind: "request", ranges });
      expect(request.length).toBeLessThan(2000);
      await v.r.receive(502, request);
      await v.r.receive(502, request);
      // One budget (64 KiB) plus at most one batch (100 patches of ~210 bytes) beyond it.
      expect(bytesOut).toBeGreaterThan(32 * 1024);
      expect(bytesOut).toBeLessThan(64 * 1024 + 100 * 260);
      expect(await metric(v.r, "serve_bytes_deferred_total")).toBeGreaterThan(0);
      const first = bytesOut;
      await v.r.tick(); // a new round: the budget is full again
      await v.r.receive(502, request);
      expect(bytesOut - first).toBeGreaterThan(32 * 1024);
    });

    it("a heartbeat naming 100,000 origins is bounded: heads kept, origins tracked and our heartbeat stay small", async () => {
      const v = await w.open(ITEMS, { peerId: 601, maxOrigins: 1000 } as never);
      const sent: Uint8Array[] = [];
      await v.r.addPeer(602, (m) => void sent.push(new Uint8Array(m)));
      const heads = Array.from({ length: 100_000 }, (_, i) => ({ peerId: 10_000 + i, contiguous: 5, highest: 5, retainedFrom: 1 }));
      // The replicas' heap, where the world can measure it from here (undefined: not measured).
      const heapBefore = await w.heapUsed?.();
      await v.r.receive(602, core.encodeWire({ kind: "heartbeat", clock: 1, heads }));
      await v.r.receive(602, core.encodeWire({ kind: "heartbeat", clock: 1, heads }));
      await v.r.tick();
      const heapAfter = await w.heapUsed?.();
      expect((await status(v.r)).peers[0]!.heads.length).toBe(1000);
      expect(await metric(v.r, "heads_ignored_total")).toBe(2 * 99_000);
      expect((await status(v.r)).origins.length).toBeLessThanOrEqual(1);
      const hb = sent.map((m) => core.decodeWire(m)).filter((m) => m.kind === "heartbeat");
      expect(hb.length).toBeGreaterThan(0);
      for (const m of hb) expect(m.heads!.length).toBeLessThanOrEqual(1);
      if (heapBefore !== undefined && heapAfter !== undefined) expect(heapAfter - heapBefore).toBeLessThan(64 * 1024 * 1024);
    });

    it("a local write larger than the message limit is refused up front, typed, nothing written", async () => {
      const v = await w.open(ITEMS, { peerId: 701, limits: { maxMessageBytes: 4096 } } as never);
      await v.r.upsert("items", { id: 1, name: "small" });
      const before = await items(v);
      let err: unknown;
      try {
        await v.r.upsert("items", { id: 2, name: "y".repeat(10_000) });
      } catch (e) {
        err = e;
      }
      expect(core.isReplicError(err)).toBe(true);
      expect((err as { code: string }).code).toBe("PATCH_TOO_LARGE");
      expect(await items(v)).toBe(before);
      expect(await v.r.upsert("items", { id: 3, name: "ok" })).toBe("701.2");
    });

    if (opts.operatorCases) opts.operatorCases();
    else {
      it("a database opened twice (a second replica on the same storage): the later replica writes, the earlier refuses with IDENTITY_CONFLICT; no sequence reused", async () => {
        const first = await w.open(ITEMS, { peerId: 801 });
        await first.r.upsert("items", { id: 1, name: "one" });
        const second = await w.replica(first.db, { peerId: 801 });
        expect(await second.upsert("items", { id: 2, name: "two" })).toBe("801.2");
        expect(await codeOf(() => first.r.upsert("items", { id: 3, name: "three" }))).toBe("IDENTITY_CONFLICT");
        expect((await status(first.r)).broken).toMatch(/another replica opened this database/);
        expect(await second.upsert("items", { id: 4, name: "four" })).toBe("801.3");
        expect((await first.db.all("SELECT _sequenceId AS s FROM items_patches ORDER BY s")).map((r) => Number(r.s))).toEqual([1, 2, 3]);
      });

      it("dropping a T_patches table (by migration or by hand) and reopening never reuses a sequence", async () => {
        const o = await w.open([...ITEMS, TAGS], { peerId: 901 });
        await o.r.upsert("items", { id: 1 });
        for (let i = 0; i < 4; i++) await o.r.upsert("tags", { id: `t${i}`, label: "x" });
        await o.r.migrate([...ITEMS, TAGS, DROP_TAGS_PATCHES]);
        await o.r.close();
        const again = await w.replica(o.db, { peerId: 901 });
        expect(await again.upsert("items", { id: 2 })).toBe("901.6");
        // By hand, outside migrate, while open: the next open still knows the sequence.
        await again.upsert("items", { id: 3 });
        await o.db.exec("DROP TABLE items_patches");
        await again.close();
        await o.db.exec(ITEMS[0]!.up.split(";\n")[1]!.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"));
        const third = await w.replica(o.db, { peerId: 901 });
        expect(await third.upsert("items", { id: 4 })).toBe("901.8");
        // Dropped by hand and never closed (a crash): the last number cannot be known, so the open
        // is refused rather than risk reusing one; a new peer id gets the database going again.
        await o.db.exec("DROP TABLE items_patches");
        expect(String(await codeOf(() => w.replica(o.db, {})))).toBe("SEQUENCE_UNKNOWN");
        const fresh = await w.assignNewPeerId(o.db);
        // items is local-only now (no patches table); the new peer writes on under its own id.
        const next = await w.replica(o.db, {});
        expect(next.peerId).toBe(fresh);
        await next.migrate([...ITEMS, TAGS, DROP_TAGS_PATCHES]);
        expect((await status(next)).sequence).toBe(0);
      });
    }
  });

  describe("heads deltas: hostile and broken neighbours (wire version 3)", () => {
    const head = (peerId: number, contiguous: number, highest = contiguous) => ({ peerId, contiguous, highest, retainedFrom: 1 });
    const heartbeats = (sent: Uint8Array[]) =>
      sent.map((m) => core.decodeWire(m) as { kind: string; form?: string; heads?: unknown[] }).filter((m) => m.kind === "heartbeat");
    const headsRequests = (sent: Uint8Array[]) => sent.map((m) => core.decodeWire(m)).filter((m) => m.kind === "heads-request").length;

    it("a neighbour that never answers our heads requests and whose digest never matches: asked at most once a round, its deltas still taken, repair converges through an honest one", async () => {
      const clock = new FakeClock(T0);
      const v = await w.open(ITEMS, { peerId: 801, now: clock.now });
      const honest = await w.open(ITEMS, { peerId: 802, now: clock.now });
      const q: Queue = [];
      await pair(v.r, honest.r, q);
      const sent: Uint8Array[] = [];
      await v.r.addPeer(803, (m) => void sent.push(new Uint8Array(m)));
      for (let i = 1; i <= 3; i++) await honest.r.upsert("items", { id: i, name: `h${i}` });
      q.length = 0; // the pushes are lost: only repair can bring them
      const rounds = 8;
      for (let round = 1; round <= rounds; round++) {
        clock.t += 300;
        // The liar claims the honest origin (it never serves it) and sends a digest that never matches.
        await v.r.receive(803, core.encodeWire({ kind: "heartbeat", clock: 1, form: "delta", digest: "00000000000000ff", heads: [head(802, 3)] }, 3));
        await drain(q, v.r, honest.r);
      }
      expect(headsRequests(sent)).toBeGreaterThan(0);
      expect(headsRequests(sent)).toBeLessThanOrEqual(rounds * 6);
      expect(await metric(v.r, "heads_digest_mismatches_total")).toBe(rounds);
      expect(await metric(v.r, "heads_taken_total")).toBeGreaterThanOrEqual(rounds);
      expect(await items(v)).toEqual(await items(honest));
      for (const name of ["h1", "h2", "h3"]) expect(await items(v)).toContain(name);
      expect((await status(v.r)).staleOrigins).toEqual([]);
    });

    it("a neighbour that never sends anything back still gets idle deltas of constant size, a full heartbeat only every fullHeartbeatEvery", async () => {
      const clock = new FakeClock(T0);
      // Every round sends (idleHeartbeatEvery 1: the link never goes quiet), so each one is seen.
      const v = await w.open(ITEMS, { peerId: 811, fullHeartbeatEvery: 5, idleHeartbeatEvery: 1, now: clock.now } as never);
      for (let i = 0; i < 50; i++) await v.r.receive(812 + i, patch(900 + i, 1, core.timestampFromMs(T0 - 1000), { id: 100 + i, name: "o" }));
      const sent: Uint8Array[] = [];
      await v.r.addPeer(812, (m) => void sent.push(new Uint8Array(m)));
      for (let round = 0; round < 10; round++) await v.r.tick();
      const hb = heartbeats(sent);
      expect(hb.map((m) => m.form)).toEqual(["full", "delta", "delta", "delta", "full", "delta", "delta", "delta", "delta", "full"]);
      const sizes = sent.filter((_, i) => hb[i]!.form === "delta").map((m) => m.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1); // the clock's varint at most
      expect(Math.max(...sizes)).toBeLessThan(40);
      // Every origin held here (our own wrote nothing: a head with highest 0 says nothing).
      for (const m of hb.filter((x) => x.form === "full")) expect(m.heads).toHaveLength(50);
    });

    it("a neighbour back with a fresh database under the same id: it asks for our full heads, gets every other origin, and its old claims are replaced", async () => {
      const clock = new FakeClock(T0);
      const hub = await w.open(ITEMS, { peerId: 821, now: clock.now });
      const other = await w.open(ITEMS, { peerId: 822, now: clock.now });
      const spoke = await w.open(ITEMS, { peerId: 823, now: clock.now });
      const q: Queue = [];
      await pair(hub.r, other.r, q);
      await pair(hub.r, spoke.r, q);
      await other.r.upsert("items", { id: 1, name: "other" });
      await spoke.r.upsert("items", { id: 2, name: "spoke" });
      await drain(q, hub.r, other.r, spoke.r);
      expect(await items(spoke)).toContain("other");
      // The spoke comes back empty under its old id, on the same link of the hub.
      await spoke.r.close();
      const fresh = await w.open(ITEMS, { peerId: 823, now: clock.now });
      await fresh.r.addPeer(821, (m) => void q.push(() => hub.r.receive(823, m)));
      await hub.r.addPeer(823, (m) => void q.push(() => fresh.r.receive(821, m)));
      const before = await metric(hub.r, "heads_requests_in_total");
      clock.t += 1000;
      await drain(q, hub.r, other.r, fresh.r);
      expect(await metric(hub.r, "heads_requests_in_total")).toBeGreaterThan(before);
      // Everything of the other origin arrives; its own old write is a second writer's to it.
      expect(await items(fresh)).toContain("other");
      expect((await status(fresh.r)).identityConflicts.count).toBeGreaterThan(0);
      // The hub took the fresh full heads: it no longer believes the link holds what it lost.
      const link = (await status(hub.r)).peers.find((p) => p.peerId === 823)!;
      expect((link.heads as { peerId: number; highest: number }[]).find((x) => x.peerId === 822)?.highest ?? 0).toBeLessThanOrEqual(1);
      expect(await items(hub)).toEqual(await items(other));
    });

    it("a neighbour that lies in a delta (claims it cannot back up, a digest of other heads) is asked for its full heads; its truthful answer replaces the lie", async () => {
      const clock = new FakeClock(T0);
      const v = await w.open(ITEMS, { peerId: 831, now: clock.now });
      const sent: Uint8Array[] = [];
      await v.r.addPeer(832, (m) => void sent.push(new Uint8Array(m)));
      const truth = [head(833, 2)];
      await v.r.receive(832, core.encodeWire({ kind: "heartbeat", clock: 1, form: "full", heads: truth }, 3));
      expect(await metric(v.r, "heads_digest_mismatches_total")).toBe(0);
      const digestOfTruth = core.decodeWire(core.encodeWire({ kind: "heartbeat", clock: 1, form: "full", heads: truth }, 3)).digest!;
      // The lie: origin 833 up to 1,000,000 and a new origin, under the digest of the truth.
      await v.r.receive(832, core.encodeWire({ kind: "heartbeat", clock: 2, form: "delta", digest: digestOfTruth, heads: [head(833, 1_000_000), head(834, 5)] }, 3));
      expect(await metric(v.r, "heads_digest_mismatches_total")).toBe(1);
      expect(headsRequests(sent)).toBe(1);
      // Requests stay bounded by the in-flight window whatever it claims.
      const asked = sent.map((m) => core.decodeWire(m)).flatMap((m) => (m.kind === "request" ? m.ranges! : []));
      expect(asked.reduce((n, r) => n + r.to - r.from + 1, 0)).toBeLessThanOrEqual(50_000 + 5);
      await v.r.receive(832, core.encodeWire({ kind: "heartbeat", clock: 3, form: "full", heads: truth }, 3));
      expect((await status(v.r)).peers[0]!.heads).toEqual(truth);
      expect(await metric(v.r, "heads_digest_mismatches_total")).toBe(1);
    });
  });
}

const TAGS = {
  up: `CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
  down: `DROP TABLE tags_patches; DROP TABLE tags;`,
};
const DROP_TAGS_PATCHES = { up: "DROP TABLE tags_patches;", down: "" };

/** The careless-operator cases on a database file shared by two connections (synchronous bindings). */
function fileCases<Db>(b: ConformanceBinding<Db>, h: Harness<Db>, tmp: () => string): void {
  const status = (r: ReplicaLike) => r.status() as Status;
  it("a database opened twice: the later replica writes, the earlier refuses with IDENTITY_CONFLICT; no sequence reused", () => {
    const file = join(tmp(), "twice.db");
    const first = h.open(ITEMS, { peerId: 801 }, file);
    first.r.upsert("items", { id: 1, name: "one" });
    const db2 = h.db(file);
    const second = h.replica(db2, { peerId: 801 });
    expect(second.upsert("items", { id: 2, name: "two" })).toBe("801.2");
    let err: unknown;
    try {
      first.r.upsert("items", { id: 3, name: "three" });
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string })?.code).toBe("IDENTITY_CONFLICT");
    expect(status(first.r).broken).toMatch(/another replica opened this database/);
    expect(second.upsert("items", { id: 4, name: "four" })).toBe("801.3");
    expect(b.all(db2, "SELECT _sequenceId AS s FROM items_patches ORDER BY s").map((r) => Number(r.s))).toEqual([1, 2, 3]);
  });

  it("dropping a T_patches table (by migration or by hand) and reopening never reuses a sequence", () => {
    const file = join(tmp(), "drop.db");
    const tags = {
      up: `CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
      down: `DROP TABLE tags_patches; DROP TABLE tags;`,
    };
    const o = h.open([...ITEMS, tags], { peerId: 901 }, file);
    o.r.upsert("items", { id: 1 });
    for (let i = 0; i < 4; i++) o.r.upsert("tags", { id: `t${i}`, label: "x" });
    o.r.migrate([...ITEMS, tags, { up: "DROP TABLE tags_patches;", down: "" }]);
    o.r.close();
    const again = h.replica(o.db, { peerId: 901 });
    expect(again.upsert("items", { id: 2 })).toBe("901.6");
    // By hand, outside migrate, while open: the next open still knows the sequence.
    again.upsert("items", { id: 3 });
    b.exec(o.db, "DROP TABLE items_patches");
    again.close();
    b.exec(o.db, ITEMS[0]!.up.split(";\n")[1]!.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"));
    const third = h.replica(o.db, { peerId: 901 });
    expect(third.upsert("items", { id: 4 })).toBe("901.8");
    // Dropped by hand and never closed (a crash): the last number cannot be known, so the open
    // is refused rather than risk reusing one; a new peer id gets the database going again.
    b.exec(o.db, "DROP TABLE items_patches");
    let code = "no error";
    try {
      h.replica(o.db, {});
    } catch (e) {
      code = String((e as { code?: unknown }).code);
    }
    expect(code).toBe("SEQUENCE_UNKNOWN");
    const adapter = b.adapter as unknown as { createDriver(db: Db): unknown; assignNewPeerId(d: unknown): number };
    const fresh = adapter.assignNewPeerId(adapter.createDriver(o.db));
    // items is local-only now (no patches table); the new peer writes on under its own id.
    const next = h.replica(o.db, {});
    expect(next.peerId).toBe(fresh);
    next.migrate([...ITEMS, tags, { up: "DROP TABLE tags_patches;", down: "" }]);
    expect(status(next).sequence).toBe(0);
  });
}
