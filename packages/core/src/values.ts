/**
 * Values against columns: what a row may hold, checked the same way for local writes and for
 * patches from the wire, so every replica stores the same bytes. A value is accepted when SQLite
 * would store it in that column: any storage class in a plain table (affinity converts it, as
 * SQLite does), the declared type in a STRICT table. Refused everywhere: NaN (SQLite would store
 * NULL), text with U+0000, integers beyond 64 bits, and non-integer numbers in TEXT columns.
 */
import type { SqlValue } from "./driver.js";
import { ValidationError } from "./errors.js";
import type { Affinity, ColumnInfo, TableSchema } from "./schema.js";

/**
 * Checks one value against a column and returns the value to bind (booleans become 0/1).
 * Throws ValidationError(TYPE_MISMATCH | NOT_NULL).
 */
export function checkValue(table: TableSchema, col: ColumnInfo, v: unknown): SqlValue {
  if (v === null) {
    if (col.pk > 0 || col.notNull) {
      throw new ValidationError("NOT_NULL", `"${table.name}"."${col.name}" cannot be NULL`, {
        table: table.name,
        column: col.name,
      });
    }
    return null;
  }
  if (!col.strict) {
    // SQLite's own typing: a column of a plain table stores any storage class (its affinity may
    // convert text to a number or a number to text, the same way on every replica).
    if (typeof v === "number") {
      if (Number.isNaN(v)) return refuse(table, col, v);
      // SQLite's text for a non-integer REAL changed between versions (0.1 + 0.2 is "0.3" in
      // 3.51, "0.30000000000000004" in 3.53): replicas on different bindings would disagree.
      if (col.affinity === "TEXT" && !Number.isSafeInteger(v)) {
        throw new ValidationError(
          "TYPE_MISMATCH",
          `"${table.name}"."${col.name}" is declared ${col.type}: a non-integer number would be stored as text that differs between SQLite versions; pass it as a string`,
          { table: table.name, column: col.name },
        );
      }
      return v;
    }
    if (typeof v === "string") {
      text(table, col, v);
      return col.affinity === "TEXT" || col.affinity === "BLOB" ? v : (numericText(v) ?? v);
    }
    if (v instanceof Uint8Array) return v;
    if (typeof v === "bigint" && v >= MIN_INT64 && v <= MAX_INT64) return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    return refuse(table, col, v);
  }
  // STRICT tables (and the rowid): the declared type itself.
  switch (col.affinity) {
    case "INTEGER":
      if (typeof v === "number" && Number.isSafeInteger(v)) return v;
      if (typeof v === "bigint" && v >= MIN_INT64 && v <= MAX_INT64) return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      break;
    case "REAL":
      if (typeof v === "number" && !Number.isNaN(v)) return v;
      break;
    case "TEXT":
      if (typeof v === "string") return text(table, col, v);
      break;
    case "BLOB":
      if (v instanceof Uint8Array) return v;
      break;
    case "ANY":
    case "NUMERIC": // (not in a STRICT table: a NUMERIC rowid cannot exist)
      if (typeof v === "number" && !Number.isNaN(v)) return v;
      if (typeof v === "string") return text(table, col, v);
      if (v instanceof Uint8Array) return v;
      if (typeof v === "bigint" && v >= MIN_INT64 && v <= MAX_INT64) return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      break;
  }
  return refuse(table, col, v);
}

/** SQLite's spaces around a number in text (sqlite3Isspace). */
const NUMBER_TEXT = /^[ \t\n\v\f\r]*([+-]?)(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\v\f\r]*$/;

/**
 * The number SQLite's INTEGER, REAL or NUMERIC affinity reads in a text (" 12 ", "12.50",
 * "1e3"), or undefined when it stays text ("2024-01-01", "0x10", "12abc"). Converted here, not
 * by SQLite: SQLite's own text-to-REAL conversion differs in the last bit between versions for
 * some inputs (3.51 and 3.53 disagree on "-.7e-248"), where JavaScript's is correctly rounded, so
 * every binding stores the same REAL. An integer text within 64 bits is that integer.
 */
export function numericText(v: string): SqlValue | undefined {
  const m = NUMBER_TEXT.exec(v);
  if (m === null) return undefined;
  if (!m[2]!.includes(".") && m[3] === undefined) {
    const n = BigInt(m[2]!);
    const i = m[1] === "-" ? -n : n;
    if (i >= MIN_INT64 && i <= MAX_INT64) return i >= MIN_SAFE && i <= MAX_SAFE ? Number(i) : i;
  }
  return Number(m[1]! + m[2]! + (m[3] ?? ""));
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function refuse(table: TableSchema, col: ColumnInfo, v: unknown): never {
  throw new ValidationError(
    "TYPE_MISMATCH",
    `"${table.name}"."${col.name}" is declared ${col.type || "without a type"}${col.strict ? " (STRICT)" : ""}; got ${describe(v)}`,
    { table: table.name, column: col.name },
  );
}

/**
 * Columns where SQLite stores an integral REAL exactly as the INTEGER of the same value (the
 * `numeric` hint of SqliteDriver.prepare).
 */
export function storesIntegralRealAsInteger(affinity: Affinity): boolean {
  return affinity === "INTEGER" || affinity === "NUMERIC" || affinity === "REAL";
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/**
 * Text must survive every binding byte for byte: U+0000 is cut short or refused by bindings that
 * pass C strings (WASM), which would let replicas disagree, so it is refused everywhere.
 * (Lone surrogates are turned into U+FFFD by the adapters and the encoder alike.)
 */
function text(table: TableSchema, col: ColumnInfo, v: string): string {
  if (v.includes("\0")) {
    throw new ValidationError("TYPE_MISMATCH", `"${table.name}"."${col.name}": text cannot contain U+0000 (store it as a BLOB)`, {
      table: table.name,
      column: col.name,
    });
  }
  return v;
}

function describe(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  if (typeof v === "string") return "a string";
  if (typeof v === "bigint") return `bigint ${v}`;
  if (v === undefined) return "undefined";
  if (v instanceof Uint8Array) return "a blob";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : typeof v;
}

