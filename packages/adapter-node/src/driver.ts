/**
 * Maps a better-sqlite3 `Database` onto the core's `SqliteDriver` interface.
 *
 * Binding rules (the same on every replic adapter, so one history gives byte-identical tables):
 * - a JS number binds as INTEGER when `Number.isSafeInteger(n)` (so `-0` binds as INTEGER 0),
 *   as REAL otherwise. better-sqlite3 itself binds every number as REAL (`1` would land as
 *   `1.0` in a column without INTEGER/NUMERIC affinity, and as the text `'1.0'` in a TEXT
 *   column), so safe integers are passed to it as bigint, except for parameters the core marks
 *   as stored in an INTEGER, NUMERIC or REAL column: SQLite's affinity turns the integral REAL
 *   into the same value there, and a bigint per integer is the binding's largest JS cost;
 * - a bigint binds as INTEGER (better-sqlite3 throws a RangeError outside int64);
 * - a string binds as TEXT, U+0000 included. better-sqlite3 encodes an unpaired surrogate as
 *   the 3 bytes of the surrogate itself (ED A0 80), where bun:sqlite and TextEncoder (hence the
 *   wire) write U+FFFD (EF BF BD): the driver passes `toWellFormed()` text, so a replicated
 *   string is stored with the same bytes on every peer;
 * - a Uint8Array (Buffer or not, any offset) binds as BLOB; null as NULL.
 *
 * Reading: statements that return rows are switched to `raw(true)` (rows as arrays, in SELECT
 * order) and `safeIntegers(true)`; integers within ±(2^53-1) are then turned back into numbers,
 * so every integer comes back exact. Blobs come back as Buffer (a Uint8Array).
 */
import type { Database as BetterSqlite3Database, Statement as BetterSqlite3Statement } from "better-sqlite3";
import { wellFormed } from "@replic/core";
import type { SqliteDriver, SqliteStatement, SqlValue } from "@replic/core";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** Turns the bigints of a freshly read row that fit a double exactly back into numbers (in place). */
function exactRow(row: unknown[]): SqlValue[] {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v === "bigint" && v >= MIN_SAFE && v <= MAX_SAFE) row[i] = Number(v);
  }
  return row as SqlValue[];
}

/**
 * Returns the parameters with every safe-integer number replaced by a bigint, so that
 * better-sqlite3 binds it with sqlite3_bind_int64 instead of as a double, and every string made
 * well-formed. Copies the array only when it changes a value.
 */
function bindable(params: readonly SqlValue[], numeric: readonly boolean[] | undefined): unknown[] {
  // (Callers spread the result: better-sqlite3 binds spread arguments faster than one array.)
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === "number") {
      if (Number.isSafeInteger(v) && (numeric === undefined || numeric[i] !== true)) {
        if (out === undefined) out = params.slice();
        out[i] = BigInt(v);
      }
    } else if (typeof v === "string") {
      const w = wellFormed(v);
      if (w !== v) {
        if (out === undefined) out = params.slice();
        out[i] = w;
      }
    }
  }
  return out ?? (params as unknown[]);
}

type Stmt = BetterSqlite3Statement<unknown[], unknown>;

class ReaderStatement implements SqliteStatement {
  constructor(private readonly stmt: Stmt) {}
  run(params: readonly SqlValue[]): number {
    return this.stmt.run(...bindable(params, undefined)).changes;
  }
  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    const row = this.stmt.get(...bindable(params, undefined)) as unknown[] | undefined;
    return row === undefined ? undefined : exactRow(row);
  }
  all(params: readonly SqlValue[]): SqlValue[][] {
    const rows = this.stmt.all(...bindable(params, undefined)) as unknown[][];
    for (let i = 0; i < rows.length; i++) exactRow(rows[i]);
    return rows as SqlValue[][];
  }
  columns(): string[] {
    return this.stmt.columns().map((c) => c.name);
  }
}

/** A statement that returns no rows (INSERT/UPDATE/DELETE/DDL): get/all run it and return nothing. */
class WriterStatement implements SqliteStatement {
  constructor(
    private readonly stmt: Stmt,
    /** Parameters stored in columns that turn an integral REAL into an INTEGER (from the core). */
    private readonly numeric: readonly boolean[] | undefined,
  ) {}
  run(params: readonly SqlValue[]): number {
    return this.stmt.run(...bindable(params, this.numeric)).changes;
  }
  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    this.stmt.run(...bindable(params, this.numeric));
    return undefined;
  }
  all(params: readonly SqlValue[]): SqlValue[][] {
    this.stmt.run(...bindable(params, this.numeric));
    return [];
  }
  columns(): string[] {
    return [];
  }
}

/**
 * Wraps a better-sqlite3 Database (v11-v13) as a `SqliteDriver`. The database stays the
 * caller's: `release()` never closes it.
 */
export function createDriver(db: BetterSqlite3Database): SqliteDriver {
  return {
    name: "better-sqlite3",
    exec(sql: string): void {
      db.exec(sql);
    },
    prepare(sql: string, numeric?: readonly boolean[]): SqliteStatement {
      const stmt = db.prepare(sql) as Stmt;
      if (stmt.reader) {
        stmt.raw(true);
        stmt.safeIntegers(true);
        return new ReaderStatement(stmt);
      }
      // The hint only for statements that store values: readers compare, and keep exact integers.
      return new WriterStatement(stmt, numeric);
    },
    release(): void {
      // better-sqlite3 has no explicit finalize: a statement is finalized when it is garbage
      // collected or when the database closes. Holding no list means there is nothing to drop
      // here, and no growth if a caller prepares ad-hoc statements.
    },
  };
}
