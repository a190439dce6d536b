/**
 * Finds complete snapshots (those with a manifest) under a location, newest first, across every
 * peer's sub-prefix. A snapshot object without a manifest is an upload in progress or an
 * interrupted one, and is never listed.
 */
import { keyOf, type S3Location } from "./s3-location.js";
import { parseManifest, parseSnapshotKey, type SnapshotManifest } from "./manifest.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import type { S3Client } from "./s3-client.js";
import { SnapshotError } from "./errors.js";

export interface ListedSnapshot {
  manifestKey: string;
  objectKey: string;
  createdMs: number;
  /** Peer sub-prefix the snapshot was found under. */
  peerDir: string;
}

export async function listSnapshots(client: S3Client, loc: S3Location, policy: RetryPolicy, peerId?: number): Promise<{ complete: ListedSnapshot[]; orphans: { key: string; createdMs: number }[] }> {
  const root = keyOf(loc, peerId === undefined ? "" : String(peerId));
  const objects = await withRetry(() => client.list(loc.bucket, root === "" ? "" : root + "/"), policy);
  const bases = new Map<string, { manifest?: string; object?: string; createdMs: number }>();
  for (const o of objects) {
    const k = parseSnapshotKey(o.key);
    if (!k) continue;
    const e = bases.get(k.base) ?? { createdMs: k.createdMs };
    if (k.kind === "manifest") e.manifest = o.key;
    else e.object = o.key;
    bases.set(k.base, e);
  }
  const complete: ListedSnapshot[] = [];
  const orphans: { key: string; createdMs: number }[] = [];
  for (const [base, e] of bases) {
    const dir = base.slice(0, base.lastIndexOf("/"));
    if (e.manifest) complete.push({ manifestKey: e.manifest, objectKey: e.object ?? base + ".db.gz", createdMs: e.createdMs, peerDir: dir.slice(dir.lastIndexOf("/") + 1) });
    else if (e.object) orphans.push({ key: e.object, createdMs: e.createdMs });
  }
  complete.sort((a, b) => b.createdMs - a.createdMs || (a.manifestKey < b.manifestKey ? 1 : -1));
  return { complete, orphans };
}

/** The newest complete snapshot's manifest under the location (all peers). */
export async function newestManifest(client: S3Client, loc: S3Location, policy: RetryPolicy): Promise<SnapshotManifest> {
  const { complete } = await listSnapshots(client, loc, policy);
  const newest = complete[0];
  if (!newest) throw new SnapshotError("SNAPSHOT_NOT_FOUND", `no complete snapshot under s3://${loc.bucket}/${loc.prefix}`);
  const text = await withRetry(() => client.getText(loc.bucket, newest.manifestKey), policy);
  return parseManifest(text, newest.manifestKey);
}
