import Database from "better-sqlite3";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver, openReplica, type Replica } from "@replic/adapter-node";
import { bootstrapFromSnapshot, listSnapshots, newestManifest, parseS3Url, resolveS3Config, S3Client, snapshotToS3, SnapshotMetrics } from "../src/index.js";
import { BUCKET, S3_CREDENTIALS, startS3, type S3Server } from "./helpers/s3.js";
import { MIGRATIONS } from "./helpers/schema.mjs";
import { link, until } from "./helpers/link.js";

let s3: S3Server;
const dir = mkdtempSync(join(tmpdir(), "replic-snap-test-"));
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

function open(path: string): { db: Database.Database; replica: Replica } {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  const replica = openReplica(db, { heartbeatMs: 0 });
  replica.migrate(MIGRATIONS);
  return { db, replica };
}
const rows = (db: Database.Database) => db.prepare("SELECT id, title, n FROM items ORDER BY id").all();

describe("snapshot → upload → restore → catch-up (better-sqlite3)", () => {
  it("restores the newest snapshot under a new peer id and converges by patches", async () => {
    const to = "s3://snapshots/cluster-a";
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const a = open(join(dir, "a.db"));
    const b = open(join(dir, "b.db"));
    link(a.replica, b.replica);
    for (let i = 0; i < 200; i++) a.replica.upsert("items", { id: `a${i}`, title: `t${i}`, n: i });
    for (let i = 0; i < 50; i++) b.replica.upsert("items", { id: `b${i}`, n: i });
    await until([a.replica, b.replica], () => rows(a.db).length === 250 && rows(b.db).length === 250);

    const metrics = new SnapshotMetrics();
    const phases = new Set<string>();
    const snap = await snapshotToS3(createDriver(a.db), { ...s3opts, to, metrics, onProgress: (e) => phases.add(e.phase) });
    expect(snap.manifestKey).toMatch(new RegExp(`^cluster-a/${a.replica.peerId}/snap-\\d{15}-[0-9a-f]{8}\\.manifest\\.json$`));
    expect(snap.manifest.peerId).toBe(a.replica.peerId);
    expect(snap.manifest.schemaVersion).toBe(1);
    expect(snap.manifest.tables).toEqual(["items"]);
    const heads = new Map(snap.manifest.heads.map((h) => [h.peerId, h.contiguous]));
    expect(heads.get(a.replica.peerId)).toBe(200);
    expect(heads.get(b.replica.peerId)).toBe(50);
    expect([...phases]).toEqual(expect.arrayContaining(["snapshot", "compress", "upload"]));
    expect(metrics.uploadsTotal).toBe(1);
    expect(metrics.lastSnapshotBytes).toBe(snap.manifest.size);

    // The object in the bucket is what the manifest says.
    const client = new S3Client(resolveS3Config(s3opts));
    const body = new Uint8Array(await (await client.get(BUCKET, snap.manifest.object)).arrayBuffer());
    expect(body.length).toBe(snap.manifest.size);
    expect(createHash("sha256").update(body).digest("hex")).toBe(snap.manifest.sha256);

    // Writes after the snapshot: the restored peer must get them by patches.
    for (let i = 200; i < 260; i++) a.replica.upsert("items", { id: `a${i}`, title: `late${i}` });
    b.replica.upsert("items", { id: "a0", title: "changed by b" });

    const target = join(dir, "sub", "c.db");
    const events: string[] = [];
    const result = await bootstrapFromSnapshot(target, { ...s3opts, from: to, metrics, onProgress: (e) => events.push(e.phase) });
    expect(result.restored).toBe(true);
    expect(result.reason).toBe("empty");
    expect(result.manifest!.object).toBe(snap.manifest.object);
    expect(events).toEqual(expect.arrayContaining(["download", "verify", "install"]));
    expect(metrics.restoresTotal).toBe(1);
    expect(result.peerId).not.toBe(a.replica.peerId);
    expect(result.peerId).not.toBe(b.replica.peerId);

    const c = open(target);
    expect(c.replica.peerId).toBe(result.peerId);
    expect(c.replica.status().sequence).toBe(0); // a new writer starts its own numbering
    expect(rows(c.db).length).toBe(250); // the snapshot's content, before catch-up
    // The snapshot taker's patches count as held: catch-up asks only for what came after.
    const heldOfA = c.replica.status().origins.find((o) => o.peerId === a.replica.peerId);
    expect(heldOfA).toMatchObject({ contiguous: 200, highest: 200 });
    expect(c.replica.status().origins.find((o) => o.peerId === b.replica.peerId)).toMatchObject({ contiguous: 50 });
    link(c.replica, a.replica);
    link(c.replica, b.replica);
    c.replica.upsert("items", { id: "c0", title: "from c" });
    await until([a.replica, b.replica, c.replica], () => {
      const ra = JSON.stringify(rows(a.db));
      return rows(a.db).length === 311 && ra === JSON.stringify(rows(b.db)) && ra === JSON.stringify(rows(c.db));
    });
    expect((c.db.prepare("SELECT title FROM items WHERE id = 'a0'").get() as { title: string }).title).toBe("changed by b");

    // A database with data is left alone unless the caller says it is stale.
    const again = await bootstrapFromSnapshot(target, { ...s3opts, from: to });
    expect(again).toMatchObject({ restored: false, reason: "has-data" });
    for (const r of [a, b, c]) {
      r.replica.close();
      r.db.close();
    }
  });

  it("takes the newest complete manifest across peers and applies retention per peer", async () => {
    const to = "s3://snapshots/cluster-b";
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const a = open(join(dir, "ra.db"));
    const b = open(join(dir, "rb.db"));
    a.replica.upsert("items", { id: "x", n: 1 });
    b.replica.upsert("items", { id: "y", n: 2 });
    let t = 1_000_000;
    const now = () => (t += 1000);
    for (let i = 0; i < 3; i++) await snapshotToS3(createDriver(a.db), { ...s3opts, to, retain: 2, now });
    const fromB = await snapshotToS3(createDriver(b.db), { ...s3opts, to, retain: 2, now });
    const client = new S3Client(resolveS3Config(s3opts));
    const policy = { retries: 0, baseMs: 1 };
    const loc = parseS3Url(to);
    const ofA = await listSnapshots(client, loc, policy, a.replica.peerId);
    expect(ofA.complete.length).toBe(2); // the oldest of three went
    expect((await newestManifest(client, loc, policy)).object).toBe(fromB.manifest.object);

    // Restoring stale b (it has data) from the newest snapshot: b's own, under a new id.
    const bPath = join(dir, "rb.db");
    b.replica.close();
    b.db.close();
    const r = await bootstrapFromSnapshot(bPath, { ...s3opts, from: to, stale: true });
    expect(r).toMatchObject({ restored: true, reason: "stale" });
    expect(r.peerId).not.toBe(fromB.manifest.peerId);
    const reopened = new Database(bPath);
    expect(reopened.prepare("PRAGMA integrity_check").pluck().get()).toBe("ok");
    const rep = openReplica(reopened, { heartbeatMs: 0 });
    expect(rep.peerId).toBe(r.peerId);
    rep.close();
    reopened.close();
    a.replica.close();
    a.db.close();
    expect(readFileSync(bPath).subarray(0, 15).toString()).toBe("SQLite format 3");
  });
});
