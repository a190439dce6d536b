import Database from "better-sqlite3";
import parsePrometheus from "parse-prometheus-text-format";
import { afterEach, describe, expect, it } from "vitest";
import { openReplica, type Replica } from "@replic/adapter-node";
import { SnapshotMetrics } from "@replic/snapshot-s3";
import { metricsHandler, serveMetrics, type MetricsServer } from "../src/index.js";

const MIGRATION = {
  up: `CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER);
       CREATE TABLE t_patches (id TEXT, v INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL,
         _peerId INTEGER NOT NULL, _nulls TEXT, PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;`,
  down: "DROP TABLE t_patches; DROP TABLE t;",
};

const open: { db: Database.Database; r: Replica }[] = [];
let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const { db, r } of open.splice(0)) {
    r.close();
    db.close();
  }
});

function replica(peerId: number): Replica {
  const db = new Database(":memory:");
  const r = openReplica(db, { peerId, heartbeatMs: 0 });
  r.migrate([MIGRATION]);
  open.push({ db, r });
  return r;
}

/** Parses with a real Prometheus parser and checks the rules every family must keep. */
function scrape(text: string) {
  const families = parsePrometheus(text);
  const names = families.map((f) => f.name);
  expect(new Set(names).size).toBe(names.length); // no family twice
  for (const f of families) {
    expect(f.help, `${f.name} has HELP`).toBeTruthy();
    expect(["counter", "gauge", "histogram", "summary"], `${f.name} has TYPE`).toContain(f.type.toLowerCase());
    if (f.type === "COUNTER") expect(f.name, "counters end in _total").toMatch(/_total$/);
    expect(f.name).toMatch(/^replic_[a-z0-9_]+$/);
  }
  const value = (name: string, labels: Record<string, string> = {}) => {
    const f = families.find((x) => x.name === name);
    const s = f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return s === undefined ? undefined : Number(s.value);
  };
  return { families, value };
}

describe("/metrics", () => {
  it("serves the replica's text, status gauges and snapshot gauges on Node http", async () => {
    const a = replica(11);
    const b = replica(22);
    a.addPeer(22, (m) => b.receive(11, m));
    b.addPeer(11, (m) => a.receive(22, m));
    for (let i = 0; i < 5; i++) a.upsert("t", { id: `k${i}`, v: i });
    a.tick();
    b.tick();
    const snap = new SnapshotMetrics();
    snap.uploadsTotal = 2;
    snap.lastSnapshotBytes = 4096;
    snap.lastSnapshotMs = Date.now() - 5000;
    server = await serveMetrics(b, { port: 0, extra: [() => snap.text()] });
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const { value } = scrape(await res.text());
    expect(value("replic_patches_applied_total")).toBe(5);
    expect(value("replic_origin_contiguous_sequence", { origin: "11" })).toBe(5);
    expect(value("replic_peer_last_contact_age_seconds", { peer: "11" })).toBeGreaterThanOrEqual(0);
    expect(value("replic_snapshot_uploads_total")).toBe(2);
    expect(value("replic_snapshot_size_bytes")).toBe(4096);
    expect(value("replic_snapshot_age_seconds")).toBeGreaterThanOrEqual(5);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: "POST" })).status).toBe(405);

    // A removed peer's derived series are gone on the next scrape.
    b.removePeer(11);
    const after = scrape(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());
    expect(after.value("replic_peer_last_contact_age_seconds", { peer: "11" })).toBeUndefined();
    expect(after.value("replic_peer_behind_patches", { peer: "11" })).toBeUndefined();
  });

  it("answers as a fetch handler (Bun.serve, workers)", async () => {
    const a = replica(33);
    a.upsert("t", { id: "x", v: 1 });
    const handler = metricsHandler(a);
    const res = handler(new Request("http://localhost/metrics"));
    expect(res.status).toBe(200);
    const { value } = scrape(await res.text());
    expect(value("replic_patches_local_total")).toBe(1);
    expect(value("replic_sequence")).toBe(1);
    expect(handler(new Request("http://localhost/nope")).status).toBe(404);
    const custom = metricsHandler(a, { path: "/m", statusGauges: false });
    const text = await custom(new Request("http://localhost/m")).text();
    expect(scrape(text).families.some((f) => f.name === "replic_origin_missing_patches")).toBe(false);
  });
});
