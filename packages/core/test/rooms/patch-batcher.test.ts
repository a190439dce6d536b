// The batcher cuts outgoing messages at the message limit as well as at maxBatchPatches: a
// neighbour with the same limits.maxMessageBytes accepts every message (NATS's 1 MiB
// max_payload is the usual reason to lower it), and nothing is lost across the cuts.
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, type Replica } from "../../src/index.js";
import { testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

const MIGRATIONS = [{ up: itemsDdl(false), down: "DROP TABLE items_patches; DROP TABLE items;" }];
const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});

function replica(peerId: number, maxMessageBytes: number) {
  const d = testDriver();
  const r = createReplica(d, { peerId, heartbeatMs: 0, limits: { maxMessageBytes } });
  r.migrate(MIGRATIONS);
  opened.push(r);
  return { r, rows: () => d.db.prepare("SELECT id, name FROM items ORDER BY id").all() };
}

/** Links a (peer 1) and b (peer 2) directly; returns the sizes of what a sends. */
function link(a: Replica, b: Replica): number[] {
  const sizes: number[] = [];
  a.addPeer(2, (bytes) => {
    sizes.push(bytes.length);
    b.receive(1, bytes);
  });
  b.addPeer(1, (bytes) => a.receive(2, bytes));
  return sizes;
}

describe("PatchBatcher: the message limit", () => {
  it("a transaction's batch to a neighbour is cut below the limit; the neighbour takes every message and holds every row", () => {
    const limit = 20_000;
    const a = replica(1, limit);
    const b = replica(2, limit);
    const sizes = link(a.r, b.r);
    sizes.length = 0;
    a.r.transaction(() => {
      for (let i = 0; i < 200; i++) a.r.upsert("items", { id: i, name: `${i}:`.padEnd(900, "x") });
    });
    const patchMessages = sizes.filter((n) => n > 1000);
    expect(patchMessages.length).toBeGreaterThanOrEqual(9); // 200 × ~900 bytes over 20 kB messages
    for (const n of sizes) expect(n).toBeLessThanOrEqual(limit);
    expect(b.rows()).toEqual(a.rows());
    expect(b.rows()).toHaveLength(200);
  });

  it("gap repair serves ranges cut at the requester's limit too", () => {
    const limit = 16_000;
    const a = replica(1, limit);
    a.r.transaction(() => {
      for (let i = 0; i < 100; i++) a.r.upsert("items", { id: i, name: "é".repeat(400) }); // 2 bytes each in UTF-8
    });
    const b = replica(2, limit);
    const sizes = link(a.r, b.r);
    for (let round = 0; round < 20 && b.rows().length < 100; round++) {
      a.r.tick();
      b.r.tick();
    }
    expect(b.rows()).toEqual(a.rows());
    const served = sizes.filter((n) => n > 1000);
    expect(served.length).toBeGreaterThanOrEqual(6);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(limit);
  });
});
