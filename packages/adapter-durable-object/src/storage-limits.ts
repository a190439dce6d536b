/**
 * The SQL limits of a Durable Object's SQLite storage, checked by the driver before a statement
 * reaches the platform, so a write that cannot fit is refused with a typed error (and, inside a
 * replic transaction, rolls back whole) instead of failing as an untyped SQLite error.
 *
 * Cloudflare documents (Durable Objects, "Limits", SQLite storage backend): a string, BLOB or
 * table row of at most 2 MB, a SQL statement of at most 100 KB, at most 100 bound parameters, and
 * 10 GB of storage per object. workerd itself refuses a row or bound value above 2,200,000 bytes
 * and a statement above 100,000 bytes (measured locally); the defaults are the documented figures.
 */
import { ReplicError, ValidationError } from "@replic/core";

export interface StorageLimits {
  /** Largest text (UTF-8 bytes) or blob bound to one parameter. Default 2 000 000. */
  maxValueBytes?: number;
  /** Largest sum of the values one written row binds (INSERT/UPDATE). Default 2 000 000. */
  maxRowBytes?: number;
  /** Longest SQL text of one prepared statement (UTF-8 bytes). Default 100 000. */
  maxStatementBytes?: number;
  /** A write is refused once `sql.databaseSize` plus its row would pass this. Default 10 GB. */
  maxDatabaseBytes?: number;
}

export type ResolvedStorageLimits = Required<StorageLimits>;

export const DO_STORAGE_LIMITS: ResolvedStorageLimits = {
  maxValueBytes: 2_000_000,
  maxRowBytes: 2_000_000,
  maxStatementBytes: 100_000,
  maxDatabaseBytes: 10_000_000_000,
};

export function resolveStorageLimits(limits: StorageLimits | undefined): ResolvedStorageLimits {
  if (limits === undefined) return DO_STORAGE_LIMITS;
  if (typeof limits !== "object" || limits === null) throw new ReplicError("INVALID_OPTION", "storageLimits must be an object");
  const out = { ...DO_STORAGE_LIMITS };
  for (const [k, v] of Object.entries(limits)) {
    if (!(k in DO_STORAGE_LIMITS)) throw new ReplicError("INVALID_OPTION", `unknown storage limit "${k}"`);
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new ReplicError("INVALID_OPTION", `storageLimits.${k} must be a positive number, got ${String(v)}`);
    }
    out[k as keyof ResolvedStorageLimits] = v;
  }
  return out;
}

const encoder = new TextEncoder();

/** Bytes SQLite stores for a bound value (text as UTF-8; numbers count their 8 bytes). */
export function boundBytes(v: unknown): number {
  if (typeof v === "string") return v.length * 3 <= 65_536 ? utf8Length(v) : encoder.encode(v).byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  return v === null ? 0 : 8;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The table an INSERT/REPLACE/UPDATE writes, for error messages. */
export function writtenTable(sql: string): string | undefined {
  const m = /^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?)\s+("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w$]+)/i.exec(sql);
  if (!m) return undefined;
  const t = m[1]!;
  return /^["`[]/.test(t) ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/**
 * Parameters per written row: for `INSERT … VALUES (…), (…)` the placeholders of the first tuple
 * (the core writes batches of equal rows); any other statement counts as one row.
 */
export function rowStride(pieces: readonly string[]): number {
  const slots = pieces.length - 1;
  const text = pieces.join("\u0000"); // U+0000 marks each placeholder
  const m = /\bVALUES\s*\(/i.exec(text);
  if (!m) return slots;
  let depth = 0;
  let n = 0;
  for (let i = m.index + m[0].length - 1; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")" && --depth === 0) break;
    else if (c === "\u0000") n++;
  }
  return n > 0 ? n : slots;
}

/** A platform error for a limit, as the typed error replic gives for it; anything else as is. */
export function limitError(err: unknown, table: string | undefined): unknown {
  const message = (err as Error)?.message ?? "";
  const where = table ? ` in "${table}"` : "";
  if (/string or blob too big/i.test(message)) {
    return new ValidationError("ROW_TOO_LARGE", `the Durable Object's storage refused a row${where} over its size limit (2 MB): ${message}`, table ? { table } : {}, { cause: err });
  }
  if (/statement too long/i.test(message)) {
    return new ReplicError("STATEMENT_TOO_LONG", `the Durable Object's storage refused a statement over 100 KB of SQL: ${message}`, { cause: err });
  }
  if (/database or disk is full|SQLITE_FULL/i.test(message)) {
    return new ReplicError("DATABASE_FULL", `the Durable Object's storage is full: ${message}`, { cause: err });
  }
  return err;
}
