/**
 * Maps a node-sqlite3-wasm `Database` onto the core's `SqliteDriver` interface.
 *
 * node-sqlite3-wasm is only referenced as a type: the database object comes from the caller.
 *
 * Binding rules (the same on every replic adapter, so one history gives byte-identical tables):
 * - a JS number binds as INTEGER when `Number.isSafeInteger(n)` (so `-0` binds as INTEGER 0),
 *   as REAL otherwise: node-sqlite3-wasm already does exactly this;
 * - a bigint binds as INTEGER; node-sqlite3-wasm silently wraps a bigint outside int64 (2^64
 *   lands as 0), so the driver throws a RangeError instead, like better-sqlite3;
 * - a Uint8Array (Buffer or not, any offset) binds as BLOB; null as NULL;
 * - a string binds as TEXT (UTF-8). node-sqlite3-wasm passes text NUL-terminated, so it would
 *   silently cut "a\u0000b" to "a": the driver throws a ValidationError for text containing
 *   U+0000 instead. It also encodes an unpaired surrogate as the 3 bytes of the surrogate
 *   itself, where better-sqlite3, bun:sqlite and TextEncoder write U+FFFD: the driver passes
 *   `toWellFormed()` text, so the stored bytes match the other adapters and the wire.
 *
 * Reading: node-sqlite3-wasm returns integers exactly (number within ±(2^53-1), bigint beyond)
 * and blobs as Uint8Array (an empty blob as an empty Uint8Array), but rows only as objects keyed
 * by column name, which loses a column when two share a name (`SELECT a.id, b.id`) and puts
 * integer-like names (`SELECT x AS "0"`) first. When the Statement exposes its (undocumented,
 * stable since 0.8) row helpers, the driver steps the statement itself and asks for rows keyed
 * "c0", "c1", ... so that `Object.values` yields SELECT order; it also resets a statement as
 * soon as it has what it needs, so no statement stays active (an active statement holds its
 * read and makes `DROP TABLE` fail with "database table is locked"). Otherwise it falls back
 * to the public API: `all()` + `Object.values`, with the column-name limits above, and without
 * `columns()` (which `watch()` needs: it names result columns from the internals).
 *
 * Finalizing matters here: a statement's memory lives in the WASM heap and is only freed by
 * `finalize()`, which `release()` calls for every statement the driver prepared.
 */
import type { Database as WasmDatabase, Statement as WasmStatement } from "node-sqlite3-wasm";
import { ValidationError, wellFormed } from "@replic/core";
import type { SqliteDriver, SqliteStatement, SqlValue } from "@replic/core";

const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

/** The Statement internals node-sqlite3-wasm 0.8 uses for its own get/all/iterate. */
interface StatementInternals {
  _assertReady(): void;
  _bind(values: readonly SqlValue[]): void;
  _step(): boolean;
  _getColumnNames(): string[];
  _getRow(columns: readonly string[], expand: boolean): Record<string, SqlValue>;
  _reset(): boolean;
}

type Internal = WasmStatement & StatementInternals;

function hasInternals(stmt: WasmStatement): stmt is Internal {
  const s = stmt as Partial<StatementInternals>;
  return (
    typeof s._assertReady === "function" &&
    typeof s._bind === "function" &&
    typeof s._step === "function" &&
    typeof s._getColumnNames === "function" &&
    typeof s._getRow === "function" &&
    typeof s._reset === "function"
  );
}

/**
 * Throws on a bigint outside int64 (node-sqlite3-wasm would wrap it) and on text containing
 * U+0000 (it would be cut there); replaces unpaired surrogates by U+FFFD. Copies the array
 * only when it changes a value.
 */
function checked(params: readonly SqlValue[]): SqlValue[] {
  let out: SqlValue[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === "string") {
      if (v.indexOf("\u0000") !== -1) {
        throw new ValidationError(
          "TYPE_MISMATCH",
          `replic: node-sqlite3-wasm cannot store text containing U+0000 (parameter ${i + 1})`,
        );
      }
      const w = wellFormed(v);
      if (w !== v) {
        if (out === undefined) out = params.slice();
        out[i] = w;
      }
    } else if (typeof v === "bigint" && (v > I64_MAX || v < I64_MIN)) {
      throw new RangeError(`replic: parameter ${i + 1} (${v}) is outside the 64-bit integer range`);
    }
  }
  return out ?? (params as SqlValue[]);
}

const positionalKeys: string[][] = [];
function keysFor(n: number): string[] {
  let keys = positionalKeys[n];
  if (keys === undefined) {
    keys = [];
    for (let i = 0; i < n; i++) keys.push(`c${i}`);
    positionalKeys[n] = keys;
  }
  return keys;
}

/** Fast, exact path over the Statement internals. */
class InternalStatement implements SqliteStatement {
  private readonly reader: boolean;
  constructor(private readonly stmt: Internal) {
    this.reader = stmt._getColumnNames().length > 0;
  }
  run(params: readonly SqlValue[]): number {
    let changes: number;
    try {
      changes = this.stmt.run(checked(params)).changes;
    } catch (err) {
      // After a failed step, sqlite3_reset() returns that error once more, and node-sqlite3-wasm
      // then refuses to bind ("Could not reset statement prior to binding new values"): reset
      // here, so the failure does not leak into the statement's next use.
      this.stmt._reset();
      throw err;
    }
    // run() steps once; a statement that returns rows would stay active until its next use.
    if (this.reader) this.stmt._reset();
    return changes;
  }
  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    const rows = this.query(params, true);
    return rows.length === 0 ? undefined : rows[0];
  }
  all(params: readonly SqlValue[]): SqlValue[][] {
    return this.query(params, false);
  }
  columns(): string[] {
    return this.stmt._getColumnNames();
  }
  private query(params: readonly SqlValue[], first: boolean): SqlValue[][] {
    const stmt = this.stmt;
    stmt._assertReady();
    stmt._bind(checked(params));
    const rows: SqlValue[][] = [];
    try {
      // Column count can change when SQLite re-prepares `SELECT *` after a schema change,
      // so it is read per query, as node-sqlite3-wasm itself does.
      const keys = keysFor(stmt._getColumnNames().length);
      while (stmt._step()) {
        rows.push(Object.values(stmt._getRow(keys, false)));
        if (first) break;
      }
    } finally {
      stmt._reset();
    }
    return rows;
  }
}

/**
 * After a failed step, node-sqlite3-wasm's next bind fails once with this message (its
 * sqlite3_reset() returns the earlier error), and has reset the statement while failing.
 */
function isStaleResetError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("Could not reset statement");
}

/** Public-API path, for a node-sqlite3-wasm without the internals above. */
class PublicStatement implements SqliteStatement {
  constructor(private readonly stmt: WasmStatement) {}
  run(params: readonly SqlValue[]): number {
    const values = checked(params);
    try {
      return this.stmt.run(values).changes;
    } catch (err) {
      if (!isStaleResetError(err)) throw err;
      return this.stmt.run(values).changes; // nothing ran: the failed bind came first
    }
  }
  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    // all(), not get(): get() leaves the statement active (see above).
    const rows = this.rows(params);
    return rows.length === 0 ? undefined : (Object.values(rows[0]) as SqlValue[]);
  }
  all(params: readonly SqlValue[]): SqlValue[][] {
    const rows = this.rows(params);
    const out: SqlValue[][] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = Object.values(rows[i]) as SqlValue[];
    return out;
  }
  private rows(params: readonly SqlValue[]): Record<string, unknown>[] {
    const values = checked(params);
    try {
      return this.stmt.all(values) as Record<string, unknown>[];
    } catch (err) {
      if (!isStaleResetError(err)) throw err;
      return this.stmt.all(values) as Record<string, unknown>[];
    }
  }
}

/**
 * Wraps a node-sqlite3-wasm Database as a `SqliteDriver`. The database stays the caller's:
 * `release()` finalizes the statements this driver prepared and never closes it.
 */
export function createDriver(db: WasmDatabase): SqliteDriver {
  let statements: WasmStatement[] = [];
  return {
    name: "node-sqlite3-wasm",
    exec(sql: string): void {
      db.exec(sql);
    },
    prepare(sql: string): SqliteStatement {
      const stmt = db.prepare(sql);
      statements.push(stmt);
      return hasInternals(stmt) ? new InternalStatement(stmt) : new PublicStatement(stmt);
    },
    release(): void {
      const list = statements;
      statements = [];
      for (const stmt of list) {
        if (stmt.isFinalized) continue;
        try {
          stmt.finalize();
        } catch {
          // finalize() reports the error of the statement's last run, if any; it is freed anyway.
        }
      }
    },
  };
}
