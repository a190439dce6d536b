/**
 * The only way the core talks to SQLite: a tiny synchronous prepared-statement interface.
 * Each adapter package maps one binding (better-sqlite3, bun:sqlite, WASM SQLite) onto it,
 * the way Kysely keeps dialect drivers apart from its query core.
 */

/** A value SQLite can store. Integers outside ±(2^53-1) travel as bigint so they stay exact. */
export type SqlValue = null | number | bigint | string | Uint8Array;

export interface SqliteStatement {
  /** Runs a statement with positional parameters; returns the number of rows it changed. */
  run(params: readonly SqlValue[]): number;
  /**
   * First result row as an array of column values (in SELECT order), or undefined.
   * Integers come back as number when safe, bigint otherwise; blobs as Uint8Array.
   */
  get(params: readonly SqlValue[]): SqlValue[] | undefined;
  /** All result rows, each as an array of column values. */
  all(params: readonly SqlValue[]): SqlValue[][];
  /**
   * Names of the result columns in SELECT order ([] for a statement without results). Optional:
   * the engine never needs it; watch() does, to hand rows over as objects.
   */
  columns?(): string[];
}

export interface SqliteDriver {
  /** Binding name for status and errors, e.g. "better-sqlite3". */
  readonly name: string;
  /** Runs one or more statements without results (DDL, pragmas). */
  exec(sql: string): void;
  /**
   * Compiles a statement. The core caches what it prepares. `numeric[i]`, when given, says that
   * parameter i is stored in a column of INTEGER, NUMERIC or REAL affinity, where SQLite turns an
   * integral REAL into exactly what the INTEGER would give: a binding that binds every number as
   * REAL may then skip its integer conversion for that parameter. Bindings may ignore it.
   */
  prepare(sql: string, numeric?: readonly boolean[]): SqliteStatement;
  /** Releases what the driver holds (prepared statements). Never closes the caller's database. */
  release?(): void;
  /**
   * For bindings that refuse BEGIN/COMMIT/SAVEPOINT (a Durable Object's storage): runs `fn` as one
   * transaction, nested calls as savepoints, rolled back when `fn` throws. Absent: the core
   * issues BEGIN IMMEDIATE … COMMIT and SAVEPOINT itself.
   */
  transaction?<T>(fn: () => T): T;
  /** Most bound parameters one statement may take, when lower than SQLite's 999 (batches stay under it). */
  readonly maxParams?: number;
}

type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const hasWellFormed = typeof (String.prototype as unknown as Partial<WellFormed>).isWellFormed === "function";

/**
 * The string with unpaired UTF-16 surrogates replaced by U+FFFD, as TextEncoder (and so the wire)
 * does. Drivers of bindings that would store the surrogate's own bytes use it, so a writer and
 * its receivers store the same text.
 */
export function wellFormed(s: string): string {
  if (hasWellFormed) {
    const w = s as unknown as WellFormed;
    return w.isWellFormed() ? s : w.toWellFormed();
  }
  return s.replace(LONE_SURROGATE, "\uFFFD");
}
