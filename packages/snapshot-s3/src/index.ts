/**
 * @replic/snapshot-s3: consistent online snapshots of a replic database to S3-compatible
 * storage (SigV4 through aws4fetch), and bootstrap / re-seed of a replica from them.
 *
 * ```ts
 * import { createDriver } from "@replic/adapter-node";
 * import { snapshotToS3, bootstrapFromSnapshot } from "@replic/snapshot-s3";
 * await snapshotToS3(createDriver(db), { to: "s3://bucket/replic" });
 * await bootstrapFromSnapshot("app.db", { from: "s3://bucket/replic" }); // before opening it
 * ```
 */
export { SnapshotError, TransientS3Error, type SnapshotErrorCode } from "./errors.js";
export { parseS3Url, keyOf, type S3Location } from "./s3-location.js";
export { resolveS3Config, type S3Options, type S3Config, type S3Credentials } from "./s3-config.js";
export { S3Client } from "./s3-client.js";
export { withRetry, type RetryPolicy } from "./retry.js";
export { parseManifest, parseSnapshotKey, type SnapshotManifest, type ManifestHead } from "./manifest.js";
export { openDatabase, isBun, type OpenDatabase, type OpenedDatabase } from "./open-database.js";
export { readFacts, isReplicDatabase, schemaVersion, type DatabaseFacts } from "./database-facts.js";
export { takeSnapshot, type TakeSnapshotOptions, type LocalSnapshot } from "./take-snapshot.js";
export { snapshotToS3, type SnapshotToS3Options, type SnapshotResult } from "./snapshot-to-s3.js";
export { listSnapshots, newestManifest, type ListedSnapshot } from "./list-snapshots.js";
export { pruneSnapshots } from "./prune-snapshots.js";
export { bootstrapFromSnapshot, isEmptyDatabase, type BootstrapOptions, type BootstrapResult } from "./bootstrap.js";
export { scheduleSnapshots, type ScheduleOptions, type SnapshotSchedule } from "./schedule-snapshots.js";
export { SnapshotMetrics } from "./snapshot-metrics.js";
export type { ProgressEvent, RetryEvent, ProgressCallbacks, SnapshotPhase } from "./progress.js";
export { markStale, isMarkedStale, staleReason, clearStale, markStaleOnEvent, staleMarkerPath } from "./stale-marker.js";
