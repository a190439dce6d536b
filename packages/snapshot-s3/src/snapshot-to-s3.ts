/**
 * snapshotToS3: snapshot a live database, upload it under `<prefix>/<peerId>/`, then write its
 * manifest (last), then apply retention.
 */
import { randomBytes } from "node:crypto";
import type { SqliteDriver } from "@replic/core";
import { SnapshotError, TransientS3Error } from "./errors.js";
import { MANIFEST_FORMAT, MANIFEST_VERSION, snapshotBaseName, type SnapshotManifest } from "./manifest.js";
import { pruneSnapshots } from "./prune-snapshots.js";
import { S3Client } from "./s3-client.js";
import { resolveS3Config, type S3Options } from "./s3-config.js";
import { keyOf, parseS3Url } from "./s3-location.js";
import type { SnapshotMetrics } from "./snapshot-metrics.js";
import { takeSnapshot, type TakeSnapshotOptions } from "./take-snapshot.js";
import { uploadObject, type UploadObjectOptions } from "./upload-object.js";
import { withRetry } from "./retry.js";

export interface SnapshotToS3Options extends S3Options, TakeSnapshotOptions, UploadObjectOptions {
  /** `s3://bucket/prefix` */
  to: string;
  /** Keep this many of this peer's snapshots (older ones are deleted after a successful upload). Default 3; 0 keeps all. */
  retain?: number;
  metrics?: SnapshotMetrics;
}

export interface SnapshotResult {
  manifest: SnapshotManifest;
  manifestKey: string;
  /** Old snapshots deleted by retention. */
  pruned: number;
  /** Set when retention failed (the snapshot itself is complete). */
  pruneError?: unknown;
  durationMs: number;
}

export async function snapshotToS3(driver: SqliteDriver, options: SnapshotToS3Options): Promise<SnapshotResult> {
  const loc = parseS3Url(options.to);
  const client = new S3Client(resolveS3Config(options));
  const started = Date.now();
  const metrics = options.metrics;
  const onRetry: SnapshotToS3Options["onRetry"] = (e) => {
    if (metrics) metrics.retriesTotal++;
    options.onRetry?.(e);
  };
  const policy = { retries: client.config.retries, baseMs: client.config.retryBaseMs, onRetry: (attempt: number, delayMs: number, error: unknown) => onRetry({ attempt, delayMs, error }) };
  try {
    // Fail fast on credentials or bucket before the (possibly long) snapshot.
    await withRetry(() => client.headBucket(loc.bucket), policy);
    const snap = await takeSnapshot(driver, options);
    try {
      const base = keyOf(loc, String(snap.peerId), snapshotBaseName(snap.createdMs, randomBytes(4).toString("hex")));
      const objectKey = base + ".db.gz";
      const manifestKey = base + ".manifest.json";
      await uploadObject(client, loc.bucket, objectKey, snap.file, { ...options, onRetry });
      const manifest: SnapshotManifest = {
        format: MANIFEST_FORMAT,
        version: MANIFEST_VERSION,
        peerId: snap.peerId,
        heads: snap.heads,
        schemaVersion: snap.schemaVersion,
        tables: snap.tables,
        createdAt: new Date(snap.createdMs).toISOString(),
        createdMs: snap.createdMs,
        object: objectKey,
        compression: "gzip",
        size: snap.gz.size,
        sha256: snap.gz.sha256,
        dbSize: snap.db.size,
        dbSha256: snap.db.sha256,
      };
      // Written last: until this PUT succeeds the new snapshot does not exist for readers.
      await withRetry(() => client.put(loc.bucket, manifestKey, JSON.stringify(manifest, null, 2), "application/json"), policy);
      if (metrics) {
        metrics.uploadsTotal++;
        metrics.uploadedBytesTotal += snap.gz.size;
        metrics.lastSnapshotMs = snap.createdMs;
        metrics.lastSnapshotBytes = snap.gz.size;
      }
      options.onProgress?.({ phase: "prune", bytes: 0 });
      // The snapshot is complete: a failed clean-up is reported, not thrown (the next run retries it).
      let pruned = 0;
      let pruneError: unknown;
      try {
        pruned = await pruneSnapshots(client, loc, snap.peerId, options.retain ?? 3, policy);
      } catch (err) {
        pruneError = err;
      }
      return { manifest, manifestKey, pruned, pruneError, durationMs: Date.now() - started };
    } finally {
      await snap.dispose();
    }
  } catch (err) {
    if (metrics) metrics.uploadFailuresTotal++;
    if (err instanceof TransientS3Error) throw new SnapshotError("SNAPSHOT_UPLOAD", `snapshot upload failed after retries: ${err.message}`, { cause: err, status: err.status });
    throw err;
  }
}
