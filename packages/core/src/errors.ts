/**
 * Typed errors. Every failure the caller can cause (bad rows, bad bytes, bad schema) is one of
 * these, thrown before anything is written, so `instanceof` or `err.code` is enough to handle it.
 */

export type ReplicErrorCode =
  | "SCHEMA_INVALID"
  | "UNKNOWN_TABLE"
  | "UNKNOWN_COLUMN"
  | "MISSING_PRIMARY_KEY"
  | "TYPE_MISMATCH"
  | "NOT_NULL"
  | "INVALID_ROW"
  | "INVALID_OPTION"
  | "CONSTRAINT"
  | "DECODE"
  | "TIMEOUT"
  | "CLOSED"
  | "TRANSACTION"
  | "NEEDS_RESEED"
  | "INVALID_TOKEN";

export class ReplicError extends Error {
  readonly code: ReplicErrorCode;
  constructor(code: ReplicErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReplicError";
    this.code = code;
  }
}

/** The database layout does not satisfy the table contract (DESIGN section 2). */
export class SchemaError extends ReplicError {
  readonly table: string;
  readonly column: string | undefined;
  constructor(table: string, column: string | undefined, message: string) {
    super("SCHEMA_INVALID", message);
    this.name = "SchemaError";
    this.table = table;
    this.column = column;
  }
}

/** A row or patch does not fit the local schema. Nothing was written. */
export class ValidationError extends ReplicError {
  readonly table: string | undefined;
  readonly column: string | undefined;
  constructor(
    code: ReplicErrorCode,
    message: string,
    where: { table?: string; column?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = "ValidationError";
    this.table = where.table;
    this.column = where.column;
  }
}

/** Bytes that are not a well-formed replic message. Nothing was written. */
export class DecodeError extends ReplicError {
  /** Byte offset where decoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super("DECODE", `${message} (at byte ${offset})`);
    this.name = "DecodeError";
    this.offset = offset;
  }
}

export class TimeoutError extends ReplicError {
  constructor(message: string) {
    super("TIMEOUT", message);
    this.name = "TimeoutError";
  }
}

/**
 * This replica fell further behind an origin than its neighbours retain patches for:
 * it must re-seed from a snapshot instead of merging a history with holes.
 */
export class StaleReplicaError extends ReplicError {
  readonly originPeerId: number;
  constructor(originPeerId: number, message: string) {
    super("NEEDS_RESEED", message);
    this.name = "StaleReplicaError";
    this.originPeerId = originPeerId;
  }
}
