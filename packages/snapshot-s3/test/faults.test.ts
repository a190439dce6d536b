import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriver } from "@replic/adapter-node";
import {
  bootstrapFromSnapshot,
  listSnapshots,
  newestManifest,
  parseS3Url,
  resolveS3Config,
  S3Client,
  SnapshotError,
  snapshotToS3,
} from "../src/index.js";
import { ReplicError } from "@replic/core";
import { BUCKET, S3_CREDENTIALS, startS3, type S3Server } from "./helpers/s3.js";
import { fileSha, openItems, uploadCrafted } from "./helpers/fixtures.js";

let s3: S3Server;
const dir = mkdtempSync(join(tmpdir(), "replic-snap-faults-"));
let opts: { endpoint: string; credentials: typeof S3_CREDENTIALS };
let client: S3Client;
const policy = { retries: 0, baseMs: 1 };
beforeAll(async () => {
  s3 = await startS3();
  opts = { endpoint: s3.endpoint, credentials: S3_CREDENTIALS };
  client = new S3Client(resolveS3Config(opts));
});
afterAll(async () => {
  await s3.stop();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotError);
    expect(err).toBeInstanceOf(ReplicError);
    return (err as SnapshotError).code;
  }
  throw new Error("expected a rejection");
}

/** A local replic database with data, to check that failed restores leave it byte for byte. */
function localDb(name: string): string {
  const path = join(dir, name);
  const { db, replica } = openItems(path);
  for (let i = 0; i < 20; i++) replica.upsert("items", { id: `l${i}`, n: i });
  replica.close();
  db.close(); // checkpoints the WAL: the file alone is the database
  return path;
}

describe("bad credentials and buckets", () => {
  it("refuses wrong credentials with S3_AUTH and uploads nothing", async () => {
    const { db, replica } = openItems(join(dir, "auth.db"));
    replica.upsert("items", { id: "1" });
    // s3rver knows one key id (S3RVER) and does not verify V4 signatures: an unknown key id is
    // its way to refuse credentials (403 InvalidAccessKeyId), as S3 does.
    const bad = { endpoint: s3.endpoint, credentials: { accessKeyId: "WRONGKEY", secretAccessKey: "wrong" } };
    expect(await codeOf(snapshotToS3(createDriver(db), { ...bad, to: "s3://snapshots/auth" }))).toBe("S3_AUTH");
    expect(await codeOf(bootstrapFromSnapshot(join(dir, "none.db"), { ...bad, from: "s3://snapshots/auth" }))).toBe("S3_AUTH");
    expect((await client.list(BUCKET, "auth/")).length).toBe(0);
    expect(existsSync(join(dir, "none.db"))).toBe(false);
    replica.close();
    db.close();
  });

  it("refuses a missing bucket with S3_NOT_FOUND, an empty prefix with SNAPSHOT_NOT_FOUND", async () => {
    const { db, replica } = openItems(join(dir, "bucket.db"));
    expect(await codeOf(snapshotToS3(createDriver(db), { ...opts, to: "s3://no-such-bucket/x" }))).toBe("S3_NOT_FOUND");
    expect(await codeOf(bootstrapFromSnapshot(join(dir, "nb.db"), { ...opts, from: "s3://no-such-bucket/x" }))).toBe("S3_NOT_FOUND");
    expect(await codeOf(bootstrapFromSnapshot(join(dir, "nb.db"), { ...opts, from: "s3://snapshots/empty-prefix" }))).toBe("SNAPSHOT_NOT_FOUND");
    expect(await codeOf(snapshotToS3(createDriver(db), { ...opts, to: "https://x/y" }))).toBe("INVALID_OPTION");
    replica.close();
    db.close();
  });

  it("refuses to snapshot a database that is not a replic database", async () => {
    const db = new Database(join(dir, "plain.db"));
    db.exec("CREATE TABLE t (a)");
    expect(await codeOf(snapshotToS3(createDriver(db), { ...opts, to: "s3://snapshots/plain" }))).toBe("SNAPSHOT_SOURCE");
    db.close();
  });
});

describe("interrupted uploads", () => {
  it("an upload whose server dies before the manifest fails typed, and the previous snapshot stays newest", async () => {
    const to = "s3://snapshots/interrupt-a";
    const loc = parseS3Url(to);
    const { db, replica } = openItems(join(dir, "ia.db"));
    replica.upsert("items", { id: "1", n: 1 });
    const first = await snapshotToS3(createDriver(db), { ...opts, to });
    replica.upsert("items", { id: "2", n: 2 });
    let killed = false;
    const code = await codeOf(
      snapshotToS3(createDriver(db), {
        ...opts,
        to,
        retries: 2,
        retryBaseMs: 20,
        onProgress: (e) => {
          // The object is in the bucket; the manifest PUT comes next and meets a dead server.
          if (e.phase === "upload" && e.bytes === e.total && e.bytes > 0 && !killed) {
            killed = true;
            s3.kill();
          }
        },
      }),
    );
    expect(killed).toBe(true);
    expect(code).toBe("SNAPSHOT_UPLOAD");
    await s3.restart();
    const listed = await listSnapshots(client, loc, policy);
    expect(listed.orphans.length).toBe(1); // the object of the failed run, without manifest
    expect((await newestManifest(client, loc, policy)).object).toBe(first.manifest.object);
    // The next successful run prunes the orphan (older than the oldest kept snapshot).
    await snapshotToS3(createDriver(db), { ...opts, to, retain: 1 });
    const after = await listSnapshots(client, loc, policy);
    expect(after.orphans.length).toBe(0);
    expect(after.complete.length).toBe(1);
    replica.close();
    db.close();
  });

  it("a multipart upload survives the server being stopped mid-way: parts are retried with back-off", async () => {
    const to = "s3://snapshots/interrupt-b";
    const loc = parseS3Url(to);
    const { db, replica } = openItems(join(dir, "ib.db"));
    replica.upsert("items", { id: "old", n: 0 });
    const first = await snapshotToS3(createDriver(db), { ...opts, to });
    // About 7 MiB that gzip cannot shrink: two 5 MiB parts.
    replica.transaction(() => {
      for (let i = 0; i < 7; i++) replica.upsert("items", { id: `blob${i}`, data: randomBytes(1024 * 1024) });
    });
    let restarted: Promise<void> | undefined;
    let retries = 0;
    const r = await snapshotToS3(createDriver(db), {
      ...opts,
      to,
      multipartThreshold: 5 * 1024 * 1024,
      partSize: 5 * 1024 * 1024,
      retries: 10,
      retryBaseMs: 100,
      onRetry: () => retries++,
      onProgress: (e) => {
        if (e.phase === "upload" && e.bytes > 0 && e.bytes < (e.total ?? 0) && !restarted) {
          s3.kill();
          restarted = (async () => {
            await new Promise((res) => setTimeout(res, 300));
            await s3.restart();
          })();
        }
      },
    });
    await restarted;
    expect(restarted).toBeDefined();
    expect(retries).toBeGreaterThan(0);
    expect(r.manifest.size).toBeGreaterThan(5 * 1024 * 1024);
    const newest = await newestManifest(client, loc, policy);
    expect(newest.object).toBe(r.manifest.object);
    expect(newest.object).not.toBe(first.manifest.object);
    // And it restores.
    const res = await bootstrapFromSnapshot(join(dir, "ib-restored.db"), { ...opts, from: to });
    expect(res.restored).toBe(true);
    const check = new Database(join(dir, "ib-restored.db"));
    expect(check.prepare("SELECT count(*) FROM items").pluck().get()).toBe(8);
    check.close();
    replica.close();
    db.close();
  });
});

describe("corrupt snapshots leave the local database untouched", () => {
  async function goodDbBytes(): Promise<Uint8Array> {
    const { db, replica } = openItems(join(dir, `src-${randomBytes(3).toString("hex")}.db`));
    replica.transaction(() => {
      for (let i = 0; i < 400; i++) replica.upsert("items", { id: `r${i}`, title: "x".repeat(100), n: i });
    });
    const out = join(dir, `vac-${randomBytes(3).toString("hex")}.db`);
    db.exec(`VACUUM INTO '${out}'`);
    replica.close();
    db.close();
    return readFileSync(out);
  }

  it("checksum mismatch: SNAPSHOT_CORRUPT", async () => {
    const local = localDb("keep1.db");
    const before = fileSha(local);
    const bytes = await goodDbBytes();
    await uploadCrafted(client, BUCKET, "corrupt-sum", bytes, Date.now(), { sha256: "0".repeat(64) });
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/corrupt-sum", stale: true }))).toBe("SNAPSHOT_CORRUPT");
    expect(fileSha(local)).toBe(before);
    // A truncated object (size differs from the manifest) too.
    await uploadCrafted(client, BUCKET, "corrupt-size", bytes, Date.now(), { size: 10 });
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/corrupt-size", stale: true }))).toBe("SNAPSHOT_CORRUPT");
    expect(fileSha(local)).toBe(before);
  });

  it("integrity_check failure: SNAPSHOT_CORRUPT", async () => {
    const local = localDb("keep2.db");
    const before = fileSha(local);
    const bytes = new Uint8Array(await goodDbBytes());
    const pageSize = (bytes[16]! << 8) | bytes[17]!;
    const pages = bytes.length / pageSize;
    expect(pages).toBeGreaterThan(4);
    // Garbage over a b-tree page in the middle; checksums in the manifest match the bad bytes.
    bytes.set(randomBytes(pageSize), Math.floor(pages / 2) * pageSize);
    await uploadCrafted(client, BUCKET, "corrupt-integrity", bytes, Date.now());
    const err = await bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/corrupt-integrity", stale: true }).catch((e) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect(err.code).toBe("SNAPSHOT_CORRUPT");
    expect(err.message).toMatch(/integrity_check|malformed|not a database/);
    expect(fileSha(local)).toBe(before);
  });

  it("wrong schema version and non-replic database: SNAPSHOT_CORRUPT", async () => {
    const local = localDb("keep3.db");
    const before = fileSha(local);
    await uploadCrafted(client, BUCKET, "corrupt-schema", await goodDbBytes(), Date.now(), { schemaVersion: 7 });
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/corrupt-schema", stale: true }))).toBe("SNAPSHOT_CORRUPT");
    const plainPath = join(dir, "plain-src.db");
    const plain = new Database(plainPath);
    plain.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1)");
    plain.close();
    await uploadCrafted(client, BUCKET, "corrupt-plain", readFileSync(plainPath), Date.now(), { schemaVersion: 0 });
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/corrupt-plain", stale: true }))).toBe("SNAPSHOT_CORRUPT");
    // A manifest that is not JSON.
    await client.put(BUCKET, "corrupt-json/1/snap-000000000000001-00000000.manifest.json", "{not json");
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/corrupt-json", stale: true }))).toBe("SNAPSHOT_CORRUPT");
    expect(fileSha(local)).toBe(before);
    // Expecting another schema version than the snapshot's is refused too.
    const ok = await goodDbBytes();
    await uploadCrafted(client, BUCKET, "schema-expect", ok, Date.now());
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/schema-expect", stale: true, expectSchemaVersion: 2 }))).toBe("SNAPSHOT_CORRUPT");
    expect(fileSha(local)).toBe(before);
  });

  it("refuses to install over a database another process holds open (its WAL stays)", async () => {
    const local = join(dir, "held.db");
    const { db, replica } = openItems(local);
    replica.upsert("items", { id: "held" });
    const holder = new Database(local); // a second connection, as another process would
    holder.prepare("SELECT count(*) FROM items").get();
    await uploadCrafted(client, BUCKET, "held", await goodDbBytes(), Date.now());
    // The replica's connection keeps the WAL alive: restoring under it must be refused.
    expect(await codeOf(bootstrapFromSnapshot(local, { ...opts, from: "s3://snapshots/held", stale: true }))).toBe("SNAPSHOT_IN_USE");
    expect(db.prepare("SELECT id FROM items").pluck().all()).toEqual(["held"]);
    holder.close();
    replica.close();
    db.close();
    writeFileSync(join(dir, "unused"), "");
  });
});
