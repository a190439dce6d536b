// The key flow under Bun (bun:sqlite): snapshot → upload → restore → catch-up, and a corrupt
// snapshot refused with the local database untouched.
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver, openReplica, type Replica } from "@replic/adapter-bun";
import { bootstrapFromSnapshot, snapshotToS3, S3Client, resolveS3Config, SnapshotError } from "../../src/index";
import { BUCKET, S3_CREDENTIALS, startS3, type S3Server } from "../helpers/s3";
import { MIGRATIONS } from "../helpers/schema.mjs";
import { link, until } from "../helpers/link";

let s3: S3Server;
const dir = mkdtempSync(join(tmpdir(), "replic-snap-bun-"));
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

function open(path: string): { db: Database; replica: Replica } {
  const db = new Database(path);
  db.exec("PRAGMA journal_mode = WAL");
  const replica = openReplica(db, { heartbeatMs: 0 });
  replica.migrate(MIGRATIONS);
  return { db, replica };
}
const rows = (db: Database) => JSON.stringify(db.query("SELECT id, title, n FROM items ORDER BY id").all());

describe("snapshot → restore → catch-up on bun:sqlite", () => {
  it("restores under a new peer id and converges", async () => {
    const s3opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
    const to = "s3://snapshots/bun";
    const a = open(join(dir, "a.db"));
    const b = open(join(dir, "b.db"));
    link(a.replica, b.replica);
    for (let i = 0; i < 100; i++) a.replica.upsert("items", { id: `a${i}`, title: "t", n: i });
    b.replica.upsert("items", { id: "b", n: 1 });
    await until([a.replica, b.replica], () => rows(a.db) === rows(b.db) && rows(a.db).includes('"b"'));
    const snap = await snapshotToS3(createDriver(a.db), { ...s3opts, to });
    expect(snap.manifest.heads.find((h) => h.peerId === a.replica.peerId)?.contiguous).toBe(100);
    for (let i = 0; i < 30; i++) b.replica.upsert("items", { id: `late${i}`, n: i });

    const target = join(dir, "c.db");
    const res = await bootstrapFromSnapshot(target, { ...s3opts, from: to });
    expect(res.restored).toBe(true);
    expect([a.replica.peerId, b.replica.peerId]).not.toContain(res.peerId);
    const c = open(target);
    expect(c.replica.peerId).toBe(res.peerId!);
    link(c.replica, b.replica);
    await until([a.replica, b.replica, c.replica], () => rows(c.db) === rows(a.db) && rows(a.db) === rows(b.db) && rows(a.db).includes("late29"));

    // A snapshot whose object does not match its manifest is refused; c.db stays as it was.
    c.replica.close();
    c.db.close();
    const before = createHash("sha256").update(readFileSync(target)).digest("hex");
    const client = new S3Client(resolveS3Config(s3opts));
    await client.put(BUCKET, snap.manifest.object, new Uint8Array(snap.manifest.size)); // zeros, same size
    let err: unknown;
    await bootstrapFromSnapshot(target, { ...s3opts, from: to, stale: true }).catch((e) => (err = e));
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).code).toBe("SNAPSHOT_CORRUPT");
    expect(createHash("sha256").update(readFileSync(target)).digest("hex")).toBe(before);
    for (const r of [a, b]) {
      r.replica.close();
      r.db.close();
    }
  });
});
