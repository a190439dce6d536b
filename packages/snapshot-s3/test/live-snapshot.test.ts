// Snapshots of a database another process keeps writing, and a serverless cold start that
// bootstraps from the bucket and converges with two running peers.
import Database from "better-sqlite3";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver } from "@replic/adapter-node";
import { bootstrapFromSnapshot, snapshotToS3 } from "../src/index.js";
import { S3_CREDENTIALS, startS3, type S3Server } from "./helpers/s3.js";
import { openItems } from "./helpers/fixtures.js";
import { link, until } from "./helpers/link.js";
import { startPeerChild, type PeerChild } from "./helpers/peer-child.js";

let s3: S3Server;
const dir = mkdtempSync(join(tmpdir(), "replic-snap-live-"));
const children: PeerChild[] = [];
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  for (const c of children) await c.exit().catch(() => undefined);
  await s3.stop();
});

const rowsOf = (db: Database.Database) => db.prepare("SELECT id, title, n FROM items ORDER BY id").all();

describe("online snapshots", () => {
  it("a snapshot taken while another process keeps writing restores consistent and converges", async () => {
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const to = "s3://snapshots/live";
    const wPath = join(dir, "writer.db");
    const writer = await startPeerChild(wPath);
    children.push(writer);
    writer.send({ type: "startWriting" });
    while (writer.written < 400) await writer.next("written");

    // A second connection in this process, as an operator's snapshot job would have.
    const conn = new Database(wPath);
    const snap = await snapshotToS3(createDriver(conn), { ...s3opts, to });
    const atSnapshot = snap.manifest.heads.find((h) => h.peerId === writer.peerId)!.contiguous;
    while (writer.written < atSnapshot + 200) await writer.next("written"); // it went on writing
    conn.close();

    const rPath = join(dir, "restored.db");
    const res = await bootstrapFromSnapshot(rPath, { ...s3opts, from: to });
    expect(res.restored).toBe(true);
    expect(res.peerId).not.toBe(writer.peerId);
    const r = openItems(rPath);
    expect(r.db.prepare("PRAGMA integrity_check").pluck().get()).toBe("ok");
    // Consistent: the snapshot holds exactly the writer's first `atSnapshot` patches, and each
    // row of T is the newest of its patches.
    expect(r.db.prepare("SELECT count(*) FROM items_patches WHERE _peerId = ?").pluck().get(writer.peerId)).toBe(atSnapshot);
    const mismatched = r.db
      .prepare(
        `SELECT count(*) FROM items t JOIN items_patches p ON p.id = t.id
         WHERE p._patchedAt = (SELECT max(_patchedAt) FROM items_patches q WHERE q.id = t.id) AND p.n IS NOT t.n`,
      )
      .pluck()
      .get();
    expect(mismatched).toBe(0);

    writer.link(r.replica);
    r.replica.upsert("items", { id: "from-restored", title: "r", n: -1 });
    const stopped = writer.next("stopped");
    writer.send({ type: "stopWriting" });
    const total = (await stopped).count;
    let remote: unknown[] = [];
    const end = Date.now() + 30_000;
    for (;;) {
      r.replica.tick();
      remote = await writer.dump();
      if (JSON.stringify(remote) === JSON.stringify(rowsOf(r.db))) break;
      if (Date.now() > end) throw new Error("restored replica did not converge with the writer");
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(remote.length).toBe(701);
    expect(r.replica.status().origins.find((o) => o.peerId === writer.peerId)!.contiguous).toBe(total);
    r.replica.close();
    r.db.close();
    await writer.exit();
  });

  it("serverless cold start: a process on an empty directory bootstraps and converges with two running peers", async () => {
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const to = "s3://snapshots/cold";
    const a = openItems(join(dir, "cold-a.db"));
    const b = openItems(join(dir, "cold-b.db"));
    link(a.replica, b.replica);
    for (let i = 0; i < 300; i++) a.replica.upsert("items", { id: `a${i}`, n: i });
    for (let i = 0; i < 100; i++) b.replica.upsert("items", { id: `b${i}`, n: i });
    await until([a.replica, b.replica], () => rowsOf(a.db).length === 400 && rowsOf(b.db).length === 400);
    await snapshotToS3(createDriver(b.db), { ...s3opts, to });
    for (let i = 0; i < 50; i++) a.replica.upsert("items", { id: `late${i}`, n: i });

    const empty = mkdtempSync(join(dir, "cold-"));
    expect(readdirSync(empty)).toEqual([]);
    const c = await startPeerChild(join(empty, "app.db"), { from: to, ...s3opts });
    children.push(c);
    expect(c.ready.restored).toMatchObject({ restored: true, from: b.replica.peerId });
    expect(c.peerId).toBe(c.ready.restored!.peerId);
    expect(new Set([a.replica.peerId, b.replica.peerId, c.peerId]).size).toBe(3);
    c.link(a.replica);
    c.link(b.replica);
    b.replica.upsert("items", { id: "b0", title: "after cold start" });
    const end = Date.now() + 30_000;
    for (;;) {
      a.replica.tick();
      b.replica.tick();
      const want = JSON.stringify(rowsOf(a.db));
      if (want === JSON.stringify(rowsOf(b.db)) && want === JSON.stringify(await c.dump())) break;
      if (Date.now() > end) throw new Error("cold-started peer did not converge");
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(rowsOf(a.db).length).toBe(450);
    await c.exit();
    for (const r of [a, b]) {
      r.replica.close();
      r.db.close();
    }
  });
});
