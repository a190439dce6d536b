/**
 * Typed errors. Every failure the caller can see is a ReplicError with a `code`, thrown before
 * anything is written (or after everything was rolled back). `isReplicError(e)` works across
 * copies of this package (ESM and CJS builds loaded side by side), where `instanceof` cannot.
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
  | "INVALID_TOKEN"
  | "INVALID_MESSAGE"
  | "PATCH_TOO_LARGE"
  | "IDENTITY_CONFLICT"
  | "BROKEN"
  | "SQLITE"
  | "MIGRATION_MISMATCH"
  | "SEQUENCE_UNKNOWN"
  | "GROUP_MISMATCH"
  | "GROUP_TOO_LARGE"
  | "DATABASE_LOCKED"
  | "AUTH_FAILED"
  // Scopes (docs/scopes.md): a scope or allow that does not fit the schema; a write outside one.
  | "INVALID_SCOPE"
  | "OUT_OF_SCOPE"
  | "INVALID_METRIC_NAME"
  // A storage's own limits (a Durable Object's SQLite: value, row, statement and database size).
  | "VALUE_TOO_LARGE"
  | "ROW_TOO_LARGE"
  | "STATEMENT_TOO_LONG"
  | "DATABASE_FULL";

const BRAND = Symbol.for("replic.error");

/** True for any replic error, whichever copy of the package threw it. */
export function isReplicError(e: unknown): e is ReplicError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && typeof (e as { code?: unknown }).code === "string";
}

export class ReplicError extends Error {
  readonly code: ReplicErrorCode;
  constructor(code: ReplicErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReplicError";
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * A second writer uses this replica's peer id: a patch of our own origin that we did not write,
 * a neighbour advertising our origin beyond our head, or another replica opened on this database
 * after this one. Nothing of it was merged; see docs/design.md (identity).
 */
export class IdentityConflictError extends ReplicError {
  readonly peerId: number;
  constructor(peerId: number, message: string) {
    super("IDENTITY_CONFLICT", message);
    this.name = "IdentityConflictError";
    this.peerId = peerId;
  }
}

/** The database layout does not satisfy the table contract (README, "The table contract"). */
export class SchemaError extends ReplicError {
  readonly table: string;
  readonly column: string | undefined;
  constructor(table: string, column: string | undefined, message: string, options?: { code?: ReplicErrorCode }) {
    super(options?.code ?? "SCHEMA_INVALID", message);
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

/**
 * Another live process holds this database file (or one whose liveness cannot be checked from
 * here: another host or container). Nothing was opened or changed.
 */
export class DatabaseLockedError extends ReplicError {
  readonly path: string;
  /** The holder's process id, when known. */
  readonly pid: number | undefined;
  /** The holder's host name, when known. */
  readonly host: string | undefined;
  constructor(path: string, message: string, holder: { pid?: number; host?: string } = {}) {
    super("DATABASE_LOCKED", message);
    this.name = "DatabaseLockedError";
    this.path = path;
    this.pid = holder.pid;
    this.host = holder.host;
  }
}

/**
 * A SQLite error as a ReplicError: a constraint violation becomes ValidationError(CONSTRAINT),
 * anything else ReplicError(SQLITE), with the original as `cause`. ReplicErrors pass through.
 */
export function fromSqlite(err: unknown, table?: string): ReplicError {
  if (err instanceof ReplicError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (/constraint/i.test(message)) {
    return new ValidationError("CONSTRAINT", `SQLite refused the write${table ? ` to "${table}"` : ""}: ${message}`, table ? { table } : {}, {
      cause: err,
    });
  }
  return new ReplicError("SQLITE", `SQLite failed${table ? ` on "${table}"` : ""}: ${message}`, { cause: err });
}
