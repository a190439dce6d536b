/**
 * Maps a Durable Object's SQLite storage (`ctx.storage`) onto the core's `SqliteDriver`.
 *
 * What the platform does, and what the driver does about it (the same binding rules as every
 * replic adapter, so one history gives byte-identical tables):
 * - `sql.exec` binds every JS number as REAL and refuses bigint. A safe integer (and `-0`) must
 *   land as INTEGER: its placeholder becomes `CAST(?n AS INTEGER)`, exact for |n| ≤ 2^53-1; a
 *   bigint binds as its decimal text under the same CAST (exact over all of int64; outside it a
 *   RangeError, like better-sqlite3). Parameters the core marks as stored in an INTEGER, NUMERIC
 *   or REAL column skip the CAST: affinity gives the same value. One SQL text per CAST pattern.
 * - `sql.exec` returns every integer as a JS number, so one beyond ±(2^53-1) comes back rounded.
 *   When a row holds an integral number that large, the driver reads the statement again inside
 *   `WITH q(c0, …) AS (<statement>)`, which hands such integers over as text, and returns
 *   bigints. Only SELECT/WITH statements are read again (they have no side effects).
 * - Blobs come back as ArrayBuffer: returned as Uint8Array. Text binds as UTF-8 with U+0000 kept;
 *   an unpaired surrogate would be stored as its own 3 bytes, so text is made well-formed first.
 * - `BEGIN`, `COMMIT` and `SAVEPOINT` are refused: `transaction(fn)` runs `fn` in
 *   `ctx.storage.transactionSync`, which nests (inner calls are savepoints) and rolls back on a
 *   throw; the core then never issues those statements itself.
 * - At most 100 bound parameters per statement: `maxParams` tells the core to batch below it.
 * - `pragma_database_list` is not authorized. The core asks it once, to learn whether another
 *   connection could open the file; none can (the storage belongs to the one live instance of
 *   the object), so the driver answers as for a private database.
 * - The number of rows a statement changed is `changes()` (not the cursor's `rowsWritten`, which
 *   also counts trigger and index writes).
 * - A cursor has no close and an unfinished one locks its tables: every statement is read to its end.
 * - Values, rows, statements and the database have size limits (storage-limits.ts): a statement
 *   that would pass one is refused before it runs, with a typed error; the platform's own refusal
 *   of one is turned into the same typed error.
 */
import { ReplicError, ValidationError, wellFormed } from "@replic/core";
import type { SqliteDriver, SqliteStatement, SqlValue } from "@replic/core";
import type { DoBindable, DoSqlValue, DurableObjectSqlStorage, SqlStorage } from "./storage-types.js";
import { boundBytes, limitError, resolveStorageLimits, rowStride, writtenTable, type ResolvedStorageLimits, type StorageLimits } from "./storage-limits.js";

/** Bound parameters per statement a Durable Object accepts. */
export const DO_MAX_PARAMS = 100;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

/** The one query of the core the platform refuses, with the answer of a private database. */
const DATABASE_LIST = `SELECT file FROM pragma_database_list WHERE name = 'main'`;

/**
 * Splits SQL at its positional `?` placeholders, skipping quoted text, identifiers and comments.
 * Returns the pieces between them (one more than there are placeholders).
 */
export function splitPlaceholders(sql: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end + 1; // a doubled quote is two quoted runs back to back
    } else if (c === "[") {
      const end = sql.indexOf("]", i + 1);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "?") {
      if (/[0-9]/.test(sql[i + 1] ?? "")) {
        throw new ReplicError("INVALID_OPTION", "numbered parameters (?NNN) are not supported by the Durable Object driver");
      }
      pieces.push(sql.slice(start, i));
      start = i + 1;
      i++;
    } else {
      i++;
    }
  }
  pieces.push(sql.slice(start));
  return pieces;
}

function leadingKeyword(sql: string): string {
  const m = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)/.exec(sql);
  return m ? m[1]!.toUpperCase() : "";
}

function toSqlValue(v: DoSqlValue): SqlValue {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : v;
}

/** An integral number whose magnitude says SQLite may have held an integer the double rounded. */
function maybeRounded(v: DoSqlValue): boolean {
  return typeof v === "number" && (v > MAX_SAFE || v < -MAX_SAFE) && Number.isInteger(v);
}

class DoStatement implements SqliteStatement {
  private readonly pieces: string[];
  /** SQL text per CAST pattern ("0110…"), built on first use. */
  private readonly variants = new Map<string, string>();
  private readonly keyword: string;
  /** The table an INSERT/UPDATE/REPLACE writes (undefined for reads). */
  private readonly writes: boolean;
  private readonly table: string | undefined;
  /** Parameters per written row (a batched INSERT binds several rows). */
  private readonly stride: number;

  constructor(
    private readonly sql: SqlStorage,
    private readonly text: string,
    /** Parameters stored in columns that turn an integral REAL into an INTEGER (from the core). */
    private readonly numeric: readonly boolean[] | undefined,
    private readonly limits: ResolvedStorageLimits,
  ) {
    const length = boundBytes(text);
    if (length > limits.maxStatementBytes) {
      throw new ReplicError("STATEMENT_TOO_LONG", `a statement of ${length} bytes of SQL exceeds the Durable Object's ${limits.maxStatementBytes}-byte limit`);
    }
    this.pieces = splitPlaceholders(text);
    this.keyword = leadingKeyword(text);
    this.writes = this.keyword === "INSERT" || this.keyword === "UPDATE" || this.keyword === "REPLACE";
    this.table = this.writes ? writtenTable(text) : undefined;
    this.stride = Math.max(1, rowStride(this.pieces));
  }

  /**
   * Refuses values, rows and database growth beyond the storage limits, before the statement runs.
   * Text is first sized by its upper bound (3 bytes per UTF-16 unit) and counted exactly only when
   * that bound passes a limit, so the common small row costs no encoding.
   */
  private checkSizes(values: readonly DoBindable[]): void {
    const { maxValueBytes, maxRowBytes, maxDatabaseBytes } = this.limits;
    const where = this.table ? { table: this.table } : {};
    const on = this.table ? ` for "${this.table}"` : "";
    const exact = (from: number, to: number) => {
      let n = 0;
      for (let i = from; i < to; i++) n += boundBytes(values[i]);
      return n;
    };
    let row = 0;
    let rowStart = 0;
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      let n = typeof v === "string" ? v.length * 3 : typeof v === "object" && v !== null ? boundBytes(v) : 8;
      if (n > maxValueBytes && typeof v === "string") n = boundBytes(v);
      if (n > maxValueBytes) {
        throw new ValidationError("VALUE_TOO_LARGE", `a value of ${n} bytes${on} exceeds the Durable Object's ${maxValueBytes}-byte limit`, where);
      }
      row += n;
      if (this.writes && ((i + 1) % this.stride === 0 || i === values.length - 1)) {
        if (row > maxRowBytes) row = exact(rowStart, i + 1);
        if (row > maxRowBytes) {
          throw new ValidationError("ROW_TOO_LARGE", `a row of ${row} bytes${on} exceeds the Durable Object's ${maxRowBytes}-byte limit`, where);
        }
        total += row;
        row = 0;
        rowStart = i + 1;
      }
    }
    if (this.writes && this.sql.databaseSize + total > maxDatabaseBytes) {
      const size = this.sql.databaseSize;
      const bytes = exact(0, values.length);
      if (size + bytes > maxDatabaseBytes) {
        throw new ReplicError("DATABASE_FULL", `writing ${bytes} bytes${on} would take the database past its ${maxDatabaseBytes}-byte limit (now ${size})`);
      }
    }
  }

  /** The result column names of the last run (watch() reads rows as objects by them). */
  private names: string[] = [];

  private exec(query: string, values: DoBindable[]) {
    try {
      const cursor = this.sql.exec(query, ...values);
      this.names = cursor.columnNames;
      return cursor;
    } catch (err) {
      throw limitError(err, this.table);
    }
  }

  private bind(params: readonly SqlValue[]): { query: string; values: DoBindable[] } {
    const slots = this.pieces.length - 1;
    if (params.length !== slots) {
      throw new RangeError(`statement takes ${slots} parameters, got ${params.length}`);
    }
    let mask: string[] | undefined;
    const values: DoBindable[] = new Array(params.length);
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      let cast = false;
      if (typeof v === "number") {
        cast = Number.isSafeInteger(v) && this.numeric?.[i] !== true;
        values[i] = v;
      } else if (typeof v === "bigint") {
        if (v > I64_MAX || v < I64_MIN) throw new RangeError(`integer ${v} is outside SQLite's 64-bit range`);
        cast = true;
        values[i] = v.toString();
      } else if (typeof v === "string") {
        values[i] = wellFormed(v);
      } else {
        values[i] = v as DoBindable;
      }
      if (cast) {
        if (!mask) mask = new Array(params.length).fill("0");
        mask[i] = "1";
      }
    }
    this.checkSizes(values);
    if (!mask) return { query: this.text, values };
    const key = mask.join("");
    let query = this.variants.get(key);
    if (query === undefined) {
      query = this.pieces[0]!;
      for (let i = 0; i < slots; i++) query += (mask[i] === "1" ? `CAST(?${i + 1} AS INTEGER)` : `?${i + 1}`) + this.pieces[i + 1];
      this.variants.set(key, query);
    }
    return { query, values };
  }

  private changes(): number {
    const row = this.sql.exec("SELECT changes()").raw().next();
    return row.done ? 0 : Number(row.value[0]);
  }

  run(params: readonly SqlValue[]): number {
    const { query, values } = this.bind(params);
    const cursor = this.exec(query, values);
    try {
      for (const _ of cursor.raw()); // step to the end: a statement runs fully before run returns
    } catch (err) {
      throw limitError(err, this.table);
    }
    const k = this.keyword;
    if (k === "INSERT" || k === "UPDATE" || k === "DELETE" || k === "REPLACE" || (k === "WITH" && cursor.columnNames.length === 0)) {
      return this.changes();
    }
    return 0;
  }

  get(params: readonly SqlValue[]): SqlValue[] | undefined {
    const { query, values } = this.bind(params);
    const rows = this.exec(query, values).raw();
    const first = rows.next();
    if (first.done) return undefined;
    // Read to the end: a cursor left open keeps its statement active, and an active statement
    // locks its tables (a later DROP TABLE fails with SQLITE_LOCKED). The cursor has no close.
    while (!rows.next().done);
    const row = first.value;
    if (row.some(maybeRounded) && this.rereadable()) return this.exactRows(query, values, row.length)[0];
    return row.map(toSqlValue);
  }

  all(params: readonly SqlValue[]): SqlValue[][] {
    const { query, values } = this.bind(params);
    const rows = [...this.exec(query, values).raw()];
    if (rows.length > 0 && this.rereadable() && rows.some((r) => r.some(maybeRounded))) {
      return this.exactRows(query, values, rows[0]!.length);
    }
    return rows.map((r) => r.map(toSqlValue));
  }

  /** Names of the result columns of the last run, in SELECT order ([] before a run, or for a statement without results). */
  columns(): string[] {
    return [...this.names];
  }

  private rereadable(): boolean {
    return this.keyword === "SELECT" || this.keyword === "WITH";
  }

  /** The rows again, with every integer beyond ±(2^53-1) read as text and returned as bigint. */
  private exactRows(query: string, values: DoBindable[], width: number): SqlValue[][] {
    const names = Array.from({ length: width }, (_, i) => `c${i}`);
    const select = names
      .map((c) => `CASE WHEN typeof(${c}) = 'integer' AND (${c} > ${MAX_SAFE} OR ${c} < -${MAX_SAFE}) THEN CAST(${c} AS TEXT) END, ${c}`)
      .join(", ");
    const body = query.replace(/[\s;]+$/, "");
    const wrapped = `WITH _replic_exact(${names.join(", ")}) AS (${body}) SELECT ${select} FROM _replic_exact`;
    const out: SqlValue[][] = [];
    for (const r of this.sql.exec(wrapped, ...values).raw()) {
      const row: SqlValue[] = new Array(width);
      for (let i = 0; i < width; i++) {
        const exact = r[2 * i];
        row[i] = exact === null ? toSqlValue(r[2 * i + 1]!) : BigInt(exact as string);
      }
      out.push(row);
    }
    return out;
  }
}

/** Answers DATABASE_LIST: no file, as a private (in-memory) database would. */
const privateDatabase: SqliteStatement = {
  run: () => 0,
  get: () => [""],
  all: () => [[""]],
};

/**
 * Wraps a Durable Object's storage (`ctx.storage`, SQLite-backed) as a `SqliteDriver`.
 * The storage stays the object's: `release()` closes nothing.
 */
export function createDriver(storage: DurableObjectSqlStorage, storageLimits?: StorageLimits): SqliteDriver {
  if (!storage || typeof storage.transactionSync !== "function" || !storage.sql || typeof storage.sql.exec !== "function") {
    throw new ReplicError(
      "INVALID_OPTION",
      "openReplica needs a Durable Object's ctx.storage with SQLite (declare the class in a new_sqlite_classes migration)",
    );
  }
  const sql = storage.sql;
  const limits = resolveStorageLimits(storageLimits);
  return {
    name: "durable-object",
    maxParams: DO_MAX_PARAMS,
    exec(text: string): void {
      try {
        for (const _ of sql.exec(text).raw()); // runs every statement of the text
      } catch (err) {
        throw limitError(err, undefined);
      }
    },
    prepare(text: string, numeric?: readonly boolean[]): SqliteStatement {
      if (text === DATABASE_LIST) return privateDatabase;
      return new DoStatement(sql, text, numeric, limits);
    },
    transaction<T>(fn: () => T): T {
      return storage.transactionSync(fn);
    },
    release(): void {
      // Statements are SQL text; the platform caches what it compiles. Nothing to free.
    },
  };
}
