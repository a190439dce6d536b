// Serving a gap request costs reads in proportion to what is held in the asked ranges, not to
// their length: a hostile or stale request for 1..2^52 costs a few index probes (it once cost
// one read per 5,000 sequences of the range, minutes of CPU on WASM).
import { afterEach, describe, expect, it } from "vitest";
import type { SqliteDriver } from "../../src/driver.js";
import { createReplica, decodeMessage, encodeWire, type Replica } from "../../src/index.js";
import type { SeqRange } from "../../src/wire/types.js";
import { testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

const MIGRATIONS = [{ up: itemsDdl(false), down: "DROP TABLE items_patches; DROP TABLE items;" }];
const HUGE = 2 ** 52;
const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});

function counted() {
  const base = testDriver();
  const calls = { n: 0 };
  const d: SqliteDriver = {
    name: base.name,
    exec: (sql) => base.exec(sql),
    prepare(sql, numeric) {
      const s = base.prepare(sql, numeric);
      return {
        run: (p) => (calls.n++, s.run(p)),
        get: (p) => (calls.n++, s.get(p)),
        all: (p) => (calls.n++, s.all(p)),
      };
    },
  };
  return { d, calls };
}

function served(out: Uint8Array[]): Array<[number, number]> {
  const seqs: Array<[number, number]> = [];
  for (const m of out) {
    const msg = decodeMessage(m);
    if (msg.kind === "patches") for (const p of msg.patches) seqs.push([p.peerId, p.seq]);
  }
  return seqs;
}

/**
 * Replica 1 on a driver that counts statement calls. `ask` sends it a request as neighbour 9
 * (linked on first use) and returns the (origin, sequence) pairs served and the calls it cost.
 */
function server() {
  const { d, calls } = counted();
  const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
  opened.push(r);
  r.migrate(MIGRATIONS);
  const out: Uint8Array[] = [];
  let linked = false;
  const ask = (ranges: SeqRange[]) => {
    if (!linked) r.addPeer(9, (b) => void out.push(b));
    linked = true;
    out.length = 0;
    calls.n = 0;
    r.receive(9, encodeWire({ kind: "request", ranges }));
    return { served: served(out), calls: calls.n };
  };
  return { r, ask };
}

describe("Outbox: serving gap requests", () => {
  it("a request for 1..2^52 of our own origin serves what is held with a handful of reads", () => {
    const { r, ask } = server();
    for (let i = 1; i <= 3; i++) r.upsert("items", { id: i, name: `n${i}` });
    const got = ask([{ peerId: 1, from: 1, to: HUGE }]);
    expect(got.served).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    expect(got.calls).toBeLessThan(30);
  });

  it("holes between held sequences are skipped: a far sequence is served, and a range above everything costs a probe", () => {
    const { r, ask } = server();
    // Origin 2's patches 1 and 3,000,001 (a far jump in its sequence, as a hostile origin may send).
    const msg = (seq: number, id: number) =>
      encodeWire({
        kind: "patches",
        tables: [{ name: "items", columns: ["id", "name"] }],
        patches: [{ table: 0, peerId: 2, seq, patchedAt: 1_000 + seq, columns: [0, 1], values: [id, `p${seq}`] }],
      });
    r.receive(2, msg(1, 10));
    r.receive(2, msg(3_000_001, 11));
    const got = ask([{ peerId: 2, from: 1, to: HUGE }]);
    expect(got.served).toEqual([
      [2, 1],
      [2, 3_000_001],
    ]);
    expect(got.calls).toBeLessThan(40);
    const above = ask([
      { peerId: 2, from: 3_000_002, to: HUGE },
      { peerId: 77, from: 1, to: HUGE },
    ]);
    expect(above.served).toEqual([]);
    expect(above.calls).toBeLessThan(20);
  });
});

describe("relay: one encoding per distinct message", () => {
  it("a batch relayed to many links is encoded once and its bytes shared; a link that holds part of it gets its own", () => {
    const T = 1_800_000_000_000;
    const r = createReplica(testDriver(), { peerId: 1, heartbeatMs: 0, now: () => T });
    opened.push(r);
    r.migrate(MIGRATIONS);
    const got = new Map<number, Uint8Array[]>();
    for (const id of [2, 3, 4, 5]) {
      got.set(id, []);
      r.addPeer(id, (b) => void got.get(id)!.push(b));
    }
    // Link 5 advertises it holds 7.1 already; link 2 is where the batch comes from.
    r.receive(5, encodeWire({ kind: "heartbeat", clock: 1, heads: [{ peerId: 7, contiguous: 1, highest: 1, retainedFrom: 1 }] }));
    for (const l of got.values()) l.length = 0;
    const batch = encodeWire({
      kind: "patches",
      tables: [{ name: "items", columns: ["id", "name"] }],
      patches: [1, 2].map((seq) => ({ table: 0, peerId: 7, seq, patchedAt: 1_000 + seq, columns: [0, 1], values: [seq, `n${seq}`] })),
    });
    r.receive(2, batch);
    expect(got.get(2)).toEqual([]);
    const [three, four, five] = [got.get(3)!, got.get(4)!, got.get(5)!];
    expect(three).toHaveLength(1);
    expect(four[0]).toBe(three[0]);
    expect(served(three)).toEqual([[7, 1], [7, 2]]);
    expect(five[0]).not.toBe(three[0]);
    expect(served(five)).toEqual([[7, 2]]);
  });
});
