import Database from "better-sqlite3";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver, openReplica } from "@replic/adapter-node";
import {
  bootstrapFromSnapshot,
  isMarkedStale,
  listSnapshots,
  markStaleOnEvent,
  parseS3Url,
  resolveS3Config,
  S3Client,
  scheduleSnapshots,
  snapshotToS3,
  staleMarkerPath,
  staleReason,
  type SnapshotResult,
} from "../src/index.js";
import { S3_CREDENTIALS, startS3, type S3Server } from "./helpers/s3.js";
import { MIGRATIONS } from "./helpers/schema.mjs";
import { link, until } from "./helpers/link.js";

let s3: S3Server;
const dir = mkdtempSync(join(tmpdir(), "replic-snap-reseed-"));
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

describe("re-seed of a stale replica", () => {
  it("a replica that fell behind retention is marked stale, re-seeded from the newest snapshot, and converges", async () => {
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const to = "s3://snapshots/reseed";
    let t = Date.now();
    const aDb = new Database(join(dir, "a.db"));
    const a = openReplica(aDb, { heartbeatMs: 0, retentionMs: 1000, now: () => t });
    a.migrate(MIGRATIONS);
    for (let i = 0; i < 10; i++) a.upsert("items", { id: `k${i}`, n: i });
    t += 60_000;
    expect(a.gc()).toBeGreaterThan(0); // a no longer holds the patches a newcomer would need
    await snapshotToS3(createDriver(aDb), { ...s3opts, to });

    const cPath = join(dir, "c.db");
    const cDb = new Database(cPath);
    cDb.pragma("journal_mode = WAL");
    const c = openReplica(cDb, { heartbeatMs: 0, now: () => t });
    c.migrate(MIGRATIONS);
    c.upsert("items", { id: "own", n: -1 }); // it has data: a cold-start check alone would not restore it
    let staleSeen = false;
    markStaleOnEvent(c, cPath, () => (staleSeen = true));
    link(a, c);
    await until([a, c], () => staleSeen);
    expect(isMarkedStale(cPath)).toBe(true);
    expect(staleReason(cPath)).toMatch(/./);
    const oldId = c.peerId;
    c.close();
    cDb.close();

    // The next start: the marker makes bootstrap re-seed although the database has data.
    const r = await bootstrapFromSnapshot(cPath, { ...s3opts, from: to });
    expect(r).toMatchObject({ restored: true, reason: "stale" });
    expect(existsSync(staleMarkerPath(cPath))).toBe(false);
    expect([oldId, a.peerId]).not.toContain(r.peerId);
    const c2Db = new Database(cPath);
    const c2 = openReplica(c2Db, { heartbeatMs: 0, now: () => t });
    c2.migrate(MIGRATIONS);
    let staleAgain = false;
    c2.on("stale", () => (staleAgain = true));
    link(a, c2);
    a.upsert("items", { id: "after", n: 99 });
    const dump = (db: Database.Database) => JSON.stringify(db.prepare("SELECT id, n FROM items ORDER BY id").all());
    await until([a, c2], () => dump(aDb) === dump(c2Db) && dump(aDb).includes("after"));
    expect(staleAgain).toBe(false);
    expect(c2.status().staleOrigins).toEqual([]);
    c2.close();
    c2Db.close();
    a.close();
    aDb.close();
  });
});

describe("scheduled snapshots", () => {
  it("upload on a jittered schedule under the peer's prefix and keep `retain` of them", async () => {
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const to = "s3://snapshots/scheduled";
    const db = new Database(join(dir, "sched.db"));
    const r = openReplica(db, { heartbeatMs: 0 });
    r.migrate(MIGRATIONS);
    r.upsert("items", { id: "x", n: 1 });
    const done: SnapshotResult[] = [];
    const errors: unknown[] = [];
    const schedule = scheduleSnapshots(createDriver(db), {
      ...s3opts,
      to,
      intervalMs: 150,
      jitter: 0.5,
      retain: 2,
      onSnapshot: (res) => done.push(res),
      onError: (e) => errors.push(e),
    });
    while (done.length < 3) await new Promise((res) => setTimeout(res, 50));
    const now = await schedule.runNow();
    await schedule.stop();
    const count = done.length;
    await new Promise((res) => setTimeout(res, 400));
    expect(done.length).toBe(count); // stopped: no more runs
    expect(errors).toEqual([]);
    expect(now.manifest.peerId).toBe(r.peerId);
    const client = new S3Client(resolveS3Config(s3opts));
    const listed = await listSnapshots(client, parseS3Url(to), { retries: 0, baseMs: 1 }, r.peerId);
    expect(listed.complete.length).toBe(2);
    expect(listed.complete[0]!.manifestKey).toBe(done[done.length - 1]!.manifestKey);
    expect(() => scheduleSnapshots(createDriver(db), { ...s3opts, to, intervalMs: 0 })).toThrow(/intervalMs/);
    r.close();
    db.close();
  });
});
