import Database from "better-sqlite3";
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { createDriver, openReplica } from "@replic/adapter-node";
import { exposition, Histogram } from "../src/index.js";

const MIGRATION = {
  up: `CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER);
       CREATE TABLE t_patches (id TEXT, v INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL,
         _peerId INTEGER NOT NULL, _nulls TEXT, PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;`,
  down: "DROP TABLE t_patches; DROP TABLE t;",
};

describe("merge batch histogram and per-peer lag in seconds", () => {
  it("exposes the replica's merge-batch histogram and ages what a neighbour lacks", () => {
    let now = 1_800_000_000_000;
    const clock = () => now;
    const aDb = new Database(":memory:");
    const bDb = new Database(":memory:");
    const a = openReplica(aDb, { peerId: 1, heartbeatMs: 0, now: clock });
    const b = openReplica(bDb, { peerId: 2, heartbeatMs: 0, now: clock });
    a.migrate([MIGRATION]);
    b.migrate([MIGRATION]);
    // a → b is held back: b gets nothing until we deliver; b → a flows.
    const held: Uint8Array[] = [];
    a.addPeer(2, (m) => held.push(m));
    b.addPeer(1, (m) => a.receive(2, m));
    b.tick(); // a learns b holds nothing
    a.upsert("t", { id: "x", v: 1 });
    now += 30_000;
    a.upsert("t", { id: "y", v: 2 });
    now += 15_000;
    b.tick();

    const text = exposition(a, { driver: createDriver(aDb), now: clock });
    const families = parsePrometheus(text);
    const lag = families.find((f) => f.name === "replic_peer_lag_seconds")!;
    expect(lag.type).toBe("GAUGE");
    // The oldest patch b lacks was written 45 s ago by the replicas' clock.
    expect(Number(lag.metrics.find((m) => m.labels?.peer === "2")!.value)).toBe(45);

    const batches = () => parsePrometheus(exposition(b, { now: clock })).find((f) => f.name === "replic_merge_batch_duration_seconds")!;
    expect(batches().metrics[0]!.count).toBe("0");
    for (const m of held.splice(0)) b.receive(1, m);
    b.tick();
    const after = parsePrometheus(exposition(a, { driver: createDriver(aDb), now: clock }));
    expect(Number(after.find((f) => f.name === "replic_peer_lag_seconds")!.metrics.find((m) => m.labels?.peer === "2")!.value)).toBe(0);
    // The core times each received patches message that merged: b merged the two held ones.
    const hist = batches();
    expect(hist.type).toBe("HISTOGRAM");
    expect(hist.metrics[0]).toMatchObject({ count: "2", buckets: { "+Inf": "2" } });
    expect(bDb.prepare("SELECT count(*) FROM t").pluck().get()).toBe(2);
    expect(Object.hasOwn(b, "receive")).toBe(false); // nothing wraps the replica's methods
    for (const r of [a, b]) r.close();
  });

  it("the Histogram for extra families: buckets are cumulative and must increase", () => {
    const h = new Histogram("replic_x_seconds", "x", [0.1, 1]);
    for (const v of [0.05, 0.5, 0.5, 5]) h.observe(v);
    const f = parsePrometheus(h.text())[0]!;
    expect(f.metrics[0]).toMatchObject({ buckets: { "0.1": "1", "1": "3", "+Inf": "4" }, count: "4", sum: "6.05" });
    expect(() => new Histogram("replic_y_seconds", "y", [1, 0.5])).toThrow(RangeError);
  });
});
