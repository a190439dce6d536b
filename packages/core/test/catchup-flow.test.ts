// Catch-up flow control: a request times out only when nothing it waits for has moved for the
// timeout, so a receiver slower than the request timeout is never sent the same patches twice,
// and a silent neighbour is still asked again one timeout after its last delivery.
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, decodeMessage, type Replica } from "../src/index.js";
import { KIND_PATCHES } from "../src/wire/types.js";
import { testDriver } from "./helpers.js";
import { ITEMS_DDL } from "./sim.js";

const MIGRATIONS = [{ up: ITEMS_DDL, down: "DROP TABLE items_patches; DROP TABLE items;" }];
const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function peer(id: number, opts: Record<string, unknown>) {
  const d = testDriver();
  const r = createReplica(d, { peerId: id, heartbeatMs: 0, ...opts });
  r.migrate(MIGRATIONS);
  open.push(r);
  return { r, dump: () => JSON.stringify(d.db.prepare("SELECT * FROM items ORDER BY id").raw(true).all()) };
}

function counter(r: Replica, name: string): number {
  const m = new RegExp(`^replic_${name} (\\d+)$`, "m").exec(r.metrics());
  return m ? Number(m[1]) : 0;
}

function contiguousOf(r: Replica, origin: number): number {
  return r.status().origins.find((o) => o.peerId === origin)?.contiguous ?? 0;
}

/**
 * a holds `n` patches of its own; b is empty. Messages go through `q` in order; `drop` loses
 * some. `deliver()` runs the next one; a patches message costs b `mergeMs` of the clock.
 */
function setup(n: number, drop: (from: number, bytes: Uint8Array) => boolean = () => false) {
  const clock = { t: 1_000_000 };
  // A window of 1,000 patches in ranges of 400, messages of 100: the last range of a window
  // lands 10 messages after it was asked for.
  const opts = { now: () => clock.t, requestTimeoutMs: 100, maxBatchPatches: 100, maxInflightPatches: 1000 };
  const a = peer(1, opts);
  const b = peer(2, opts);
  // One write per transaction: each patch is its own group, so b's contiguous head moves with
  // every message (a single transaction would become visible only once whole).
  for (let i = 1; i <= n; i++) a.r.upsert("items", { id: i, name: `item ${i}`, qty: i });
  const q: Array<() => void> = [];
  const mergeMs = 30;
  a.r.addPeer(2, (m) =>
    void (drop(1, m) ||
      q.push(() => {
        b.r.receive(1, m);
        if (m[2] === KIND_PATCHES) clock.t += mergeMs;
      })),
  );
  b.r.addPeer(1, (m) => void (drop(2, m) || q.push(() => a.r.receive(2, m))));
  const deliver = () => {
    clock.t += 1;
    q.shift()!();
  };
  return { a, b, q, clock, deliver };
}

describe("catch-up flow control", () => {
  it("a receiver slower than the request timeout is sent every patch exactly once", () => {
    const { a, b, q, deliver } = setup(3000);
    a.r.tick(); // a's heads reach b, which asks for its first window
    // Each message takes b 30 ms: a full window takes 300 ms, three times the request timeout.
    for (let i = 0; i < 10_000 && q.length > 0; i++) deliver();
    expect(q).toHaveLength(0);
    expect(b.dump()).toBe(a.dump());
    expect(counter(b.r, "gap_patches_requested_total")).toBe(3000);
    expect(counter(b.r, "patches_duplicate_total")).toBe(0);
    expect(counter(a.r, "patches_served_total")).toBe(3000);
  });

  it("a neighbour that stops delivering is asked again one timeout after its last patch, not before", () => {
    let silent = false;
    const { a, b, q, clock, deliver } = setup(1000, (from, bytes) => silent && from === 1 && bytes[2] === KIND_PATCHES);
    a.r.tick();
    let lastProgress = 0;
    while (contiguousOf(b.r, 1) < 300) {
      const before = contiguousOf(b.r, 1);
      const t = clock.t + 1; // the time b merges at (deliver() advances 1 ms first)
      deliver();
      if (contiguousOf(b.r, 1) > before) lastProgress = t;
    }
    // a goes silent: what it had sent is lost, and it sends no patches any more.
    silent = true;
    q.length = 0;
    const asked = counter(b.r, "gaps_requested_total");
    expect(asked).toBeGreaterThan(0);
    clock.t = lastProgress + 99;
    b.r.tick();
    while (q.length > 0) q.shift()!();
    expect(counter(b.r, "gaps_requested_total")).toBe(asked);
    clock.t = lastProgress + 100;
    b.r.tick();
    expect(counter(b.r, "gaps_requested_total")).toBeGreaterThan(asked);
    // Delivering again, a answers the new request and b catches up.
    silent = false;
    for (let i = 0; i < 10_000 && q.length > 0; i++) deliver();
    expect(contiguousOf(b.r, 1)).toBe(1000);
    expect(b.dump()).toBe(a.dump());
  });

  it("a range waiting behind others is timed from the last delivery made while they were still incomplete", () => {
    // One request asks [1..400], [401..800] and [801..1000]; every answer to the last is lost.
    let drop = true;
    const firstSeq = (bytes: Uint8Array) => {
      const m = decodeMessage(bytes);
      return m.kind === "patches" ? m.patches[0]!.seq : 0;
    };
    const { a, b, q, clock, deliver } = setup(1000, (from, bytes) => drop && from === 1 && firstSeq(bytes) > 800);
    a.r.tick();
    const moves: number[] = [];
    while (q.length > 0) {
      const before = contiguousOf(b.r, 1);
      const t = clock.t + 1;
      deliver();
      if (contiguousOf(b.r, 1) > before) moves.push(t);
    }
    expect(contiguousOf(b.r, 1)).toBe(800);
    expect(moves).toHaveLength(8);
    const asked = counter(b.r, "gaps_requested_total");
    // The message that completed [401..800] does not restart [801..1000]'s clock: nothing is
    // ahead of it any more, so its answer was due. The one before it did.
    const lastCredit = moves[6]!;
    clock.t = lastCredit + 99;
    b.r.tick();
    while (q.length > 0) deliver();
    expect(counter(b.r, "gaps_requested_total")).toBe(asked);
    clock.t = lastCredit + 100;
    b.r.tick();
    expect(counter(b.r, "gaps_requested_total")).toBe(asked + 1);
    drop = false;
    while (q.length > 0) deliver();
    expect(b.dump()).toBe(a.dump());
  });
});
