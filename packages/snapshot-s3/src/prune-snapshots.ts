/**
 * Retention: keeps the newest `keep` complete snapshots of one peer's sub-prefix. The manifest
 * goes first, so a reader never finds a manifest whose object is gone; objects left by
 * interrupted uploads older than the oldest kept snapshot go too.
 */
import type { S3Location } from "./s3-location.js";
import { listSnapshots } from "./list-snapshots.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import type { S3Client } from "./s3-client.js";

export async function pruneSnapshots(client: S3Client, loc: S3Location, peerId: number, keep: number, policy: RetryPolicy): Promise<number> {
  if (!Number.isInteger(keep) || keep < 1) return 0;
  const { complete, orphans } = await listSnapshots(client, loc, policy, peerId);
  let deleted = 0;
  for (const s of complete.slice(keep)) {
    await withRetry(() => client.delete(loc.bucket, s.manifestKey), policy);
    await withRetry(() => client.delete(loc.bucket, s.objectKey), policy);
    deleted++;
  }
  const oldestKept = complete[Math.min(keep, complete.length) - 1]?.createdMs;
  if (oldestKept !== undefined) {
    for (const o of orphans) if (o.createdMs < oldestKept) await withRetry(() => client.delete(loc.bucket, o.key), policy);
  }
  return deleted;
}
