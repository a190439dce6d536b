/**
 * bootstrapFromSnapshot: before opening a replica, fill an empty (cold start) or stale database
 * from the newest complete snapshot, verified, installed atomically, under a new peer id.
 */
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { assignNewPeerId } from "@replic/core";
import { isReplicDatabase, schemaVersion, tableCount } from "./database-facts.js";
import { downloadObject } from "./download-object.js";
import { SnapshotError, TransientS3Error } from "./errors.js";
import { gunzipFile } from "./file-hash.js";
import { installDatabase } from "./install-database.js";
import { newestManifest } from "./list-snapshots.js";
import type { SnapshotManifest } from "./manifest.js";
import { openDatabase, type OpenDatabase } from "./open-database.js";
import type { ProgressCallbacks } from "./progress.js";
import { S3Client } from "./s3-client.js";
import { resolveS3Config, type S3Options } from "./s3-config.js";
import { parseS3Url } from "./s3-location.js";
import type { SnapshotMetrics } from "./snapshot-metrics.js";
import { clearStale, isMarkedStale } from "./stale-marker.js";

export interface BootstrapOptions extends S3Options, ProgressCallbacks {
  /** `s3://bucket/prefix`: the newest complete snapshot of any peer under it is restored. */
  from: string;
  /**
   * Restore although the database holds data: the caller knows it is stale (re-seed). Default:
   * whether a stale marker (`markStale`, `markStaleOnEvent`) lies beside the database.
   */
  stale?: boolean;
  /** Refuse a snapshot whose applied-migration count differs. */
  expectSchemaVersion?: number;
  /** Peer id the restored database takes (must be fresh); default: a random one. */
  peerId?: number;
  /** Largest decompressed database accepted, bytes. Default 64 GiB. */
  maxDbBytes?: number;
  open?: OpenDatabase;
  metrics?: SnapshotMetrics;
  /** Called once with the result (also returned). */
  onResult?: (r: BootstrapResult) => void;
}

export interface BootstrapResult {
  restored: boolean;
  /** Why: "empty" or "stale" when restored, "has-data" when left alone. */
  reason: "empty" | "stale" | "has-data";
  manifest?: SnapshotManifest;
  /** The new peer id of the restored database. */
  peerId?: number;
  /** Compressed bytes downloaded. */
  bytes: number;
  durationMs: number;
}

/** Missing, zero bytes, or a SQLite file without a single table. */
export async function isEmptyDatabase(path: string, openDb: OpenDatabase = openDatabase): Promise<boolean> {
  if (!existsSync(path) || statSync(path).size === 0) return true;
  const db = await openDb(path);
  try {
    return tableCount(db.driver) === 0;
  } finally {
    db.close();
  }
}

async function verifyDatabase(path: string, manifest: SnapshotManifest, options: BootstrapOptions, openDb: OpenDatabase): Promise<number> {
  let db;
  try {
    db = await openDb(path);
  } catch (err) {
    throw new SnapshotError("SNAPSHOT_CORRUPT", `snapshot is not a SQLite database: ${(err as Error).message}`, { cause: err });
  }
  try {
    let rows: unknown[][];
    try {
      rows = db.driver.prepare("PRAGMA integrity_check").all([]);
    } catch (err) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", `integrity_check failed: ${(err as Error).message}`, { cause: err });
    }
    if (rows.length !== 1 || rows[0]![0] !== "ok") {
      throw new SnapshotError("SNAPSHOT_CORRUPT", `integrity_check: ${rows.slice(0, 3).map((r) => String(r[0])).join("; ")}`);
    }
    if (!isReplicDatabase(db.driver)) throw new SnapshotError("SNAPSHOT_CORRUPT", "snapshot is not a replic database");
    const version = schemaVersion(db.driver);
    if (version !== manifest.schemaVersion) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", `snapshot holds ${version} migrations, its manifest says ${manifest.schemaVersion}`);
    }
    if (options.expectSchemaVersion !== undefined && version !== options.expectSchemaVersion) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", `snapshot schema version ${version}, expected ${options.expectSchemaVersion}`);
    }
    // Never another peer's id: the copy becomes a peer of its own before anyone opens it (and
    // keeps what it holds of the snapshot taker as a remote origin, so nothing is fetched again).
    return assignNewPeerId(db.driver, options.peerId);
  } finally {
    db.close();
  }
}

export async function bootstrapFromSnapshot(path: string, options: BootstrapOptions): Promise<BootstrapResult> {
  const started = Date.now();
  const openDb = options.open ?? openDatabase;
  const target = resolve(path);
  const finish = (r: BootstrapResult): BootstrapResult => {
    options.onResult?.(r);
    return r;
  };
  const empty = await isEmptyDatabase(target, openDb);
  const stale = options.stale ?? isMarkedStale(target);
  if (!empty && !stale) return finish({ restored: false, reason: "has-data", bytes: 0, durationMs: Date.now() - started });

  const loc = parseS3Url(options.from);
  const client = new S3Client(resolveS3Config(options));
  const metrics = options.metrics;
  const policy = {
    retries: client.config.retries,
    baseMs: client.config.retryBaseMs,
    onRetry: (attempt: number, delayMs: number, error: unknown) => {
      if (metrics) metrics.retriesTotal++;
      options.onRetry?.({ attempt, delayMs, error });
    },
  };
  await mkdir(dirname(target), { recursive: true });
  // Same directory as the target, so the final rename stays on one filesystem (atomic).
  const work = await mkdtemp(join(dirname(target), `.${basename(target)}.restore-`));
  try {
    const manifest = await newestManifest(client, loc, policy);
    const gz = join(work, "snapshot.db.gz");
    const db = join(work, "snapshot.db");
    await downloadObject(client, loc.bucket, manifest.object, gz, manifest, policy, options);
    if (metrics) metrics.downloadedBytesTotal += manifest.size;
    options.onProgress?.({ phase: "verify", bytes: 0, total: manifest.dbSize });
    let digest;
    try {
      digest = await gunzipFile(gz, db, Math.min(options.maxDbBytes ?? 64 * 2 ** 30, manifest.dbSize));
    } catch (err) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", `snapshot does not decompress: ${(err as Error).message}`, { cause: err });
    }
    if (digest.size !== manifest.dbSize || digest.sha256 !== manifest.dbSha256) {
      throw new SnapshotError("SNAPSHOT_CORRUPT", "decompressed snapshot does not match the manifest's size and sha256");
    }
    const peerId = await verifyDatabase(db, manifest, options, openDb);
    options.onProgress?.({ phase: "install", bytes: 0 });
    await installDatabase(db, target, openDb);
    clearStale(target);
    if (metrics) {
      metrics.restoresTotal++;
      metrics.lastSnapshotMs = manifest.createdMs;
      metrics.lastSnapshotBytes = manifest.size;
    }
    return finish({ restored: true, reason: empty ? "empty" : "stale", manifest, peerId, bytes: manifest.size, durationMs: Date.now() - started });
  } catch (err) {
    if (metrics) metrics.restoreFailuresTotal++;
    if (err instanceof TransientS3Error) throw new SnapshotError("SNAPSHOT_DOWNLOAD", `snapshot download failed after retries: ${err.message}`, { cause: err, status: err.status });
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
