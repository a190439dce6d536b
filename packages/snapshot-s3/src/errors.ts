/**
 * Typed errors of snapshot work. They extend the core's ReplicError, so `err.code` and
 * `instanceof ReplicError` handle them like every other replic error.
 */
import { ReplicError, type ReplicErrorCode } from "@replic/core";

export type SnapshotErrorCode =
  | "SNAPSHOT_UPLOAD" // the upload failed after its retries (network, server errors)
  | "SNAPSHOT_DOWNLOAD" // the download failed after its retries
  | "SNAPSHOT_CORRUPT" // checksum, size, integrity_check or schema check failed
  | "SNAPSHOT_NOT_FOUND" // no complete snapshot under the location
  | "SNAPSHOT_SOURCE" // the database to snapshot is not a replic database
  | "SNAPSHOT_IN_USE" // the target database is open in another process
  | "S3_AUTH" // credentials missing or refused
  | "S3_NOT_FOUND" // bucket or key does not exist
  | "S3_REQUEST" // any other refused request (4xx)
  | "INVALID_OPTION";

export class SnapshotError extends ReplicError {
  /** HTTP status of the S3 answer that caused it, when there was one. */
  readonly status: number | undefined;
  constructor(code: SnapshotErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    // The core's code union does not list snapshot codes (yet); the value is what callers match on.
    super(code as unknown as ReplicErrorCode, message, options);
    this.name = "SnapshotError";
    this.status = options?.status;
  }
  /** The code, typed as a snapshot code. */
  get snapshotCode(): SnapshotErrorCode {
    return this.code as unknown as SnapshotErrorCode;
  }
}

/** A failure worth retrying: the network or the server (5xx, 429), not the request itself. */
export class TransientS3Error extends Error {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = "TransientS3Error";
    this.status = options?.status;
  }
}
