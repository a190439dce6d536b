/**
 * Values against declared column types: what a row may hold, checked the same way for local
 * writes and for patches from the wire, so every replica stores the same bytes.
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
  switch (col.affinity) {
    case "INTEGER":
      if (typeof v === "number" && Number.isSafeInteger(v)) return v;
      if (typeof v === "bigint" && v >= MIN_INT64 && v <= MAX_INT64) return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      break;
    case "REAL":
      if (typeof v === "number" && !Number.isNaN(v)) return v;
      break;
    case "NUMERIC":
      if (typeof v === "number" && !Number.isNaN(v)) return v;
      if (typeof v === "bigint" && v >= MIN_INT64 && v <= MAX_INT64) return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      break;
    case "TEXT":
      if (typeof v === "string") return text(table, col, v);
      break;
    case "BLOB":
      if (v instanceof Uint8Array) return v;
      break;
    case "ANY":
      if (typeof v === "number" && !Number.isNaN(v)) return v;
      if (typeof v === "string") return text(table, col, v);
      if (v instanceof Uint8Array) return v;
      if (typeof v === "bigint" && v >= MIN_INT64 && v <= MAX_INT64) return v;
      if (typeof v === "boolean") return v ? 1 : 0;
      break;
  }
  throw new ValidationError(
    "TYPE_MISMATCH",
    `"${table.name}"."${col.name}" is declared ${col.type || "without a type"}; got ${describe(v)}`,
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

