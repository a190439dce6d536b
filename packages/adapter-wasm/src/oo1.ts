/**
 * The same driver shape over the official SQLite WASM build (`@sqlite.org/sqlite-wasm`), for
 * browsers, workers and edge runtimes, through its object-oriented "oo1" API:
 *
 * ```ts
 * import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
 * import { openOo1Replica } from "@replic/adapter-wasm";
 * const sqlite3 = await sqlite3InitModule();
 * const db = new sqlite3.oo1.OpfsDb("/app.db");       // or new sqlite3.oo1.DB(":memory:")
 * const replica = openOo1Replica(db, sqlite3, { peerId: 1 });
 * ```
 *
 * Only structural types are used: this package does not depend on @sqlite.org/sqlite-wasm.
 *
 * How the official build maps onto the contract, and what the driver corrects:
 * - `db.prepare(sql)` returns a `Stmt`; `stmt.bind([...])` binds positionally; `stmt.step()`
 *   advances; `stmt.get([])` reads the current row as an array in SELECT order; `stmt.reset()`
 *   rewinds; `stmt.finalize()` frees the statement (WASM heap: nothing is garbage collected).
 * - Integers are read exactly (number within ±(2^53-1), bigint beyond, when the build has BigInt
 *   support, which the driver requires); blobs as Uint8Array (empty blob: empty Uint8Array).
 * - Binding: strings, Uint8Array, null, bigint (int64-checked) and safe-integer numbers (as
 *   INTEGER, -0 as 0) already follow replic's rules. But oo1 binds EVERY integral number as
 *   int64, so 2^53 lands as an INTEGER and 1e308 is truncated to 0; the driver re-binds such
 *   numbers with `sqlite3_bind_double`, so a number binds as INTEGER exactly when
 *   `Number.isSafeInteger(n)`, REAL otherwise, as on the other adapters.
 * - Text: oo1 binds U+0000 inside text, but reads text back NUL-terminated ("a\u0000b" comes
 *   back as "a"), so the driver throws a ValidationError for text containing U+0000, as the
 *   node-sqlite3-wasm driver does. Unpaired surrogates are written as U+FFFD, like TextEncoder.
 * - `run` returns `sqlite3_changes()`.
 */
import { ValidationError } from "@replic/core";
import type { SqliteDriver, SqliteStatement, SqlValue } from "@replic/core";

/** The subset of oo1's `Stmt` the driver uses. */
export interface Oo1Stmt {
  readonly pointer?: number | undefined;
  bind(values: readonly SqlValue[]): unknown;
  step(): boolean;
  get(row: unknown[]): unknown[];
  reset(alsoClearBinds?: boolean): unknown;
  finalize(): unknown;
  readonly columnCount: number;
  getColumnNames(target?: string[]): string[];
}

/** The subset of oo1's `DB` the driver uses. */
export interface Oo1Database {
  readonly pointer?: number | undefined;
  exec(sql: string): unknown;
  prepare(sql: string): Oo1Stmt;
}

/** The subset of the `sqlite3` namespace object (what `sqlite3InitModule()` resolves to) used. */
export interface Sqlite3Static {
  capi: {
    sqlite3_bind_double(pStmt: number, index: number, value: number): number;
    sqlite3_changes(pDb: number): number;
    sqlite3_errstr?(rc: number): string;
  };
  /** `wasm.bigIntEnabled` must be true (read at run time; the official typings omit it). */
  wasm: object;
}

class Oo1Statement implements SqliteStatement {
  constructor(
    private readonly stmt: Oo1Stmt,
    private readonly sqlite3: Sqlite3Static,
    private readonly db: Oo1Database,
  ) {}

  private bind(params: readonly SqlValue[]): void {
    if (params.length === 0) return; // oo1 refuses bind() on a statement without parameters
    const stmt = this.stmt;
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      if (typeof v === "string" && v.indexOf("\u0000") !== -1) {
        throw new ValidationError(
          "TYPE_MISMATCH",
          `replic: the SQLite WASM oo1 API cannot read back text containing U+0000 (parameter ${i + 1})`,
        );
      }
    }
    stmt.bind(params);
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      if (typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)) {
        const rc = this.sqlite3.capi.sqlite3_bind_double(stmt.pointer as number, i + 1, v);
        if (rc !== 0) {
          throw new Error(`replic: sqlite3_bind_double failed: ${this.sqlite3.capi.sqlite3_errstr?.(rc) ?? rc}`);
        }
      }
    }
  }

  run(params: readonly SqlValue[]): number {
    const stmt = this.stmt;
    try {
      this.bind(params);
      stmt.step();
    } finally {
      stmt.reset();
    }
    return this.sqlite3.capi.sqlite3_changes(this.db.pointer as number);
  }

  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    const stmt = this.stmt;
    try {
      this.bind(params);
      return stmt.step() ? (stmt.get([]) as SqlValue[]) : undefined;
    } finally {
      stmt.reset();
    }
  }

  all(params: readonly SqlValue[]): SqlValue[][] {
    const stmt = this.stmt;
    const rows: SqlValue[][] = [];
    try {
      this.bind(params);
      while (stmt.step()) rows.push(stmt.get([]) as SqlValue[]);
    } finally {
      stmt.reset();
    }
    return rows;
  }

  columns(): string[] {
    // oo1 throws rather than answer [] for a statement without result columns.
    return this.stmt.columnCount === 0 ? [] : this.stmt.getColumnNames([]);
  }
}

/**
 * Wraps an oo1 `DB` of the official SQLite WASM build as a `SqliteDriver`. The database stays
 * the caller's: `release()` finalizes the statements this driver prepared and never closes it.
 */
export function createOo1Driver(db: Oo1Database, sqlite3: Sqlite3Static): SqliteDriver {
  if (!(sqlite3.wasm as { bigIntEnabled?: boolean }).bigIntEnabled) {
    throw new Error("replic: this SQLite WASM build has no BigInt support; 64-bit integers would not be exact");
  }
  let statements: Oo1Stmt[] = [];
  return {
    name: "sqlite-wasm-oo1",
    exec(sql: string): void {
      db.exec(sql);
    },
    prepare(sql: string): SqliteStatement {
      const stmt = db.prepare(sql);
      statements.push(stmt);
      return new Oo1Statement(stmt, sqlite3, db);
    },
    release(): void {
      const list = statements;
      statements = [];
      for (const stmt of list) {
        try {
          stmt.finalize(); // a no-op on a statement that db.close() already finalized
        } catch {
          // reported errors of the last run do not keep the statement alive
        }
      }
    },
  };
}
