/** Databases and crafted snapshots for the fault tests. */
import Database from "better-sqlite3";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { openReplica, type Replica } from "@replic/adapter-node";
import { MANIFEST_FORMAT, MANIFEST_VERSION, snapshotBaseName, type SnapshotManifest } from "../../src/manifest.js";
import type { S3Client } from "../../src/s3-client.js";
import { MIGRATIONS } from "./schema.mjs";

export function openItems(path: string): { db: Database.Database; replica: Replica } {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  const replica = openReplica(db, { heartbeatMs: 0 });
  replica.migrate(MIGRATIONS);
  return { db, replica };
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
export const fileSha = (path: string) => sha256(readFileSync(path));

/** Uploads `dbBytes` as a snapshot with a consistent manifest (checksums match the bytes given). */
export async function uploadCrafted(
  client: S3Client,
  bucket: string,
  prefix: string,
  dbBytes: Uint8Array,
  createdMs: number,
  patch: Partial<SnapshotManifest> = {},
): Promise<SnapshotManifest> {
  const gz = gzipSync(dbBytes);
  const base = `${prefix}/4242/${snapshotBaseName(createdMs, randomBytes(4).toString("hex"))}`;
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    peerId: 4242,
    heads: [],
    schemaVersion: 1,
    tables: ["items"],
    createdAt: new Date(createdMs).toISOString(),
    createdMs,
    object: base + ".db.gz",
    compression: "gzip",
    size: gz.length,
    sha256: sha256(gz),
    dbSize: dbBytes.length,
    dbSha256: sha256(dbBytes),
    ...patch,
  };
  await client.put(bucket, manifest.object, gz);
  await client.put(bucket, base + ".manifest.json", JSON.stringify(manifest));
  return manifest;
}
