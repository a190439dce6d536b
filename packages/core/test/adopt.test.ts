/**
 * replica.adopt(table): rows already in `T` without a patch become patches of this replica, in
 * bounded batches (one group each) with progress, once; peers receive them like any write.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, decodeMessage, patchesDdl, type Replica } from "../src/index.js";
import { testDriver } from "./helpers.js";

const DDL = `CREATE TABLE lines (doc TEXT NOT NULL, n INTEGER NOT NULL, body NVARCHAR(40), amount NUMERIC(10,2), at DATETIME, raw BLOB, PRIMARY KEY (doc, n));`;

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

type Peer = { r: Replica; d: ReturnType<typeof testDriver> };

function peer(peerId: number): Peer {
  const d = testDriver();
  d.exec(DDL);
  d.exec(patchesDdl(d, "lines"));
  const r = createReplica(d, { peerId, heartbeatMs: 0 });
  open.push(r);
  return { r, d };
}

/** Links peers both ways through one queue, delivered by pump(). */
function network(peers: Peer[]) {
  const queue: [Replica, number, Uint8Array][] = [];
  for (const a of peers) for (const b of peers) if (a !== b) a.r.addPeer(b.r.peerId, (m) => queue.push([b.r, a.r.peerId, m]));
  return {
    queue,
    pump() {
      for (let round = 0; round < 20; round++) {
        for (const p of peers) p.r.tick();
        while (queue.length > 0) {
          const [to, from, m] = queue.shift()!;
          to.receive(from, m);
        }
      }
    },
  };
}

function insertRows(d: ReturnType<typeof testDriver>, count: number, from = 0): void {
  const ins = d.prepare(`INSERT INTO lines (doc, n, body, amount, at, raw) VALUES (?, ?, ?, ?, ?, ?)`);
  for (let i = from; i < from + count; i++) {
    ins.run([`doc-${i % 7}`, i, i % 5 === 0 ? null : `line ${i}`, `${i}.${String(i % 100).padStart(2, "0")}`, `2024-01-${String((i % 28) + 1).padStart(2, "0")} 10:00:00`, i % 3 === 0 ? new Uint8Array([i % 256, 0]) : null]);
  }
}

function dump(d: ReturnType<typeof testDriver>, table = "lines"): string[] {
  return d
    .prepare(`SELECT quote(doc), n, quote(body), typeof(amount), quote(amount), quote(at), quote(raw) FROM "${table}" ORDER BY doc, n`)
    .all([])
    .map((r) => r.join("|"));
}

const patchCount = (d: ReturnType<typeof testDriver>) => Number(d.prepare(`SELECT count(*) FROM lines_patches`).get([])![0]);

describe("adopt", () => {
  it("turns existing rows into patches in batches with progress; two empty peers catch up", () => {
    const a = peer(1);
    insertRows(a.d, 2500);
    const before = dump(a.d);
    const progress: unknown[] = [];
    expect(a.r.adopt("lines", { batchSize: 1000, onProgress: (p) => progress.push(p) })).toBe(2500);
    expect(progress).toEqual([
      { table: "lines", adopted: 1000, total: 2500 },
      { table: "lines", adopted: 2000, total: 2500 },
      { table: "lines", adopted: 2500, total: 2500 },
    ]);
    expect(dump(a.d)).toEqual(before); // T itself unchanged
    expect(patchCount(a.d)).toBe(2500);
    expect(a.r.status().sequence).toBe(2500);

    const b = peer(2);
    const c = peer(3);
    const net = network([a, b, c]);
    net.pump();
    expect(dump(b.d)).toEqual(before);
    expect(dump(c.d)).toEqual(before);
    expect(patchCount(c.d)).toBe(2500);
  });

  it("is idempotent and skips rows that already have a patch", () => {
    const a = peer(1);
    insertRows(a.d, 10);
    a.r.upsert("lines", { doc: "doc-0", n: 0, body: "written through replic" }); // has a patch now
    expect(a.r.adopt("lines")).toBe(9);
    expect(a.r.status().sequence).toBe(10);
    expect(a.r.adopt("lines")).toBe(0);
    expect(a.r.status().sequence).toBe(10);
    insertRows(a.d, 3, 10); // written around replic later: adopted by the next run
    expect(a.r.adopt("lines", { batchSize: 2 })).toBe(3);
    expect(patchCount(a.d)).toBe(13);
    // The row with a patch kept its own values: adopt did not touch it.
    expect(a.d.prepare(`SELECT body FROM lines WHERE doc = 'doc-0' AND n = 0`).get([])).toEqual(["written through replic"]);
  });

  it("rows received from a peer are not adopted again", () => {
    const a = peer(1);
    const b = peer(2);
    insertRows(a.d, 20);
    a.r.adopt("lines");
    network([a, b]).pump();
    expect(b.r.adopt("lines")).toBe(0);
    expect(b.r.status().sequence).toBe(0);
  });

  it("sends one group per batch, and a run cut short goes on where it stopped", () => {
    const a = peer(1);
    const sent: Uint8Array[] = [];
    a.r.addPeer(9, (m) => sent.push(m));
    insertRows(a.d, 25);
    expect(() =>
      a.r.adopt("lines", {
        batchSize: 10,
        onProgress: (p) => {
          if (p.adopted === 20) throw new Error("stopped by the caller");
        },
      }),
    ).toThrow("stopped by the caller");
    expect(patchCount(a.d)).toBe(20); // two batches committed
    const groups = sent.flatMap((m) => {
      const msg = decodeMessage(m);
      return msg.kind === "patches" ? (msg.groups ?? []).map((g) => `${g.peerId}:${g.first}-${g.last}`) : [];
    });
    expect(new Set(groups)).toEqual(new Set(["1:1-10", "1:11-20"]));
    expect(a.r.adopt("lines", { batchSize: 10 })).toBe(5);
    expect(patchCount(a.d)).toBe(25);
  });

  it("refuses bad options, unknown tables and being called inside a transaction, writing nothing", () => {
    const a = peer(1);
    insertRows(a.d, 3);
    for (const batchSize of [0, -1, 1.5, Number.NaN, 3_000_000]) {
      expect(() => a.r.adopt("lines", { batchSize })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    }
    expect(() => a.r.adopt("lines", { onProgress: 5 as never })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => a.r.adopt("nope")).toThrow(expect.objectContaining({ code: "UNKNOWN_TABLE" }));
    expect(() => a.r.transaction(() => a.r.adopt("lines"))).toThrow(expect.objectContaining({ code: "TRANSACTION" }));
    expect(patchCount(a.d)).toBe(0);
  });
});
