/**
 * Maps a bun:sqlite `Database` onto the core's `SqliteDriver` interface.
 *
 * bun:sqlite is only referenced as a type: this file never imports it at runtime, so the
 * package bundles and typechecks anywhere, and only a Bun process can hand it a database.
 *
 * Binding rules (the same on every replic adapter, so one history gives byte-identical tables):
 * - a JS number binds as INTEGER when `Number.isSafeInteger(n)`, as REAL otherwise. bun:sqlite
 *   already does this, except for `-0`, which it binds as REAL -0.0: the driver passes 0;
 * - a bigint binds as INTEGER; bun:sqlite silently wraps a bigint outside int64 (2^64 lands as
 *   0), so the driver throws a RangeError instead, like better-sqlite3;
 * - a Uint8Array (Buffer or not, any offset) binds as BLOB; string as TEXT; null as NULL.
 *
 * Reading: statements that return rows use `safeIntegers(true)` and `values()` (rows as arrays
 * in SELECT order); integers within ±(2^53-1) are turned back into numbers, so every integer
 * comes back exact. Blobs come back as Uint8Array.
 */
import type { Database as BunDatabase, Statement as BunStatement } from "bun:sqlite";
import type { SqliteDriver, SqliteStatement, SqlValue } from "@replic/core";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

type Stmt = BunStatement<unknown, any[]>;
type Row = Array<string | bigint | number | Uint8Array | null>;

/** Turns the bigints of a freshly read row that fit a double exactly back into numbers (in place). */
function exactRow(row: Row): SqlValue[] {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v === "bigint" && v >= MIN_SAFE && v <= MAX_SAFE) row[i] = Number(v);
  }
  return row;
}

/** Checks bigints against int64 and replaces -0 by 0, copying the array only when it must. */
function bindable(params: readonly SqlValue[]): SqlValue[] {
  let out: SqlValue[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === "bigint") {
      if (v > I64_MAX || v < I64_MIN) {
        throw new RangeError(`replic: parameter ${i + 1} (${v}) is outside the 64-bit integer range`);
      }
    } else if (v === 0 && 1 / v < 0) {
      if (out === undefined) out = params.slice();
      out[i] = 0;
    }
  }
  return out ?? (params as SqlValue[]);
}

class ReaderStatement implements SqliteStatement {
  constructor(private readonly stmt: Stmt) {}
  run(params: readonly SqlValue[]): number {
    return this.stmt.run(bindable(params)).changes;
  }
  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    // values() is the only array-returning API; Statement.get() returns an object keyed by
    // column name, which loses duplicate names and reorders integer-like ones.
    const rows = this.stmt.values(bindable(params));
    return rows.length === 0 ? undefined : exactRow(rows[0]);
  }
  all(params: readonly SqlValue[]): SqlValue[][] {
    const rows = this.stmt.values(bindable(params));
    for (let i = 0; i < rows.length; i++) exactRow(rows[i]);
    return rows as SqlValue[][];
  }
  columns(): string[] {
    return [...this.stmt.columnNames];
  }
}

/** A statement that returns no rows (INSERT/UPDATE/DELETE/DDL): get/all run it and return nothing. */
class WriterStatement implements SqliteStatement {
  constructor(private readonly stmt: Stmt) {}
  run(params: readonly SqlValue[]): number {
    return this.stmt.run(bindable(params)).changes;
  }
  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    this.stmt.run(bindable(params));
    return undefined;
  }
  all(params: readonly SqlValue[]): SqlValue[][] {
    this.stmt.run(bindable(params));
    return [];
  }
  columns(): string[] {
    return [];
  }
}

/**
 * Wraps a bun:sqlite Database as a `SqliteDriver`. The database stays the caller's:
 * `release()` finalizes the statements this driver prepared and never closes it.
 */
export function createDriver(db: BunDatabase): SqliteDriver {
  let statements: Stmt[] = [];
  let dbReturnsBigints: boolean | undefined;
  return {
    name: "bun:sqlite",
    exec(sql: string): void {
      db.exec(sql);
    },
    prepare(sql: string): SqliteStatement {
      // db.prepare (not db.query): the statement is ours alone, uncached, and ours to finalize.
      const stmt = db.prepare(sql) as Stmt;
      statements.push(stmt);
      if (stmt.columnNames.length === 0) return new WriterStatement(stmt);
      if (typeof stmt.safeIntegers === "function") {
        stmt.safeIntegers(true);
      } else {
        // Bun releases before per-statement safeIntegers: exact only if the database was opened
        // with { safeIntegers: true }.
        if (dbReturnsBigints === undefined) {
          const probe = db.prepare("SELECT 1") as Stmt;
          dbReturnsBigints = typeof probe.values()[0]?.[0] === "bigint";
          probe.finalize();
        }
        if (!dbReturnsBigints) {
          throw new Error(
            "replic: this Bun has no Statement.safeIntegers(); open the database with " +
              "new Database(path, { safeIntegers: true }) or upgrade Bun",
          );
        }
      }
      return new ReaderStatement(stmt);
    },
    release(): void {
      const list = statements;
      statements = [];
      for (const stmt of list) {
        try {
          stmt.finalize();
        } catch {
          // finalize() may report the error of the statement's last run; it is freed anyway.
        }
      }
    },
  };
}
