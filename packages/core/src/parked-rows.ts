/**
 * Parked rows: merged rows not shown in `T` because they break one of its constraints, kept in
 * `_replic_parked` (table, primary key, reason, detail) in the transaction that parks them. The
 * row's values stay in `T_patches`: a released row is derived from there again.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";

export const PARKED_TABLE = "_replic_parked";

/** Why a row is parked, in the order they are tested. */
export type ParkReason = "incomplete" | "check" | "unique" | "parent-missing";

export interface ParkedRow {
  table: string;
  /** The primary key, column name to value. */
  key: Record<string, SqlValue>;
  reason: ParkReason;
  /** What exactly: the column, CHECK, index or parent table concerned. */
  detail: string;
}

export interface ParkedCount {
  table: string;
  reason: ParkReason;
  rows: number;
}

/** A key as text: the same values always give the same text (map keys, the stored key). */
export function keyText(values: readonly SqlValue[]): string {
  return JSON.stringify(values.map(encodeValue));
}

export function keyFromText(text: string): SqlValue[] {
  return (JSON.parse(text) as unknown[]).map(decodeValue);
}

function encodeValue(v: SqlValue): unknown {
  if (typeof v === "bigint") return { n: v.toString() };
  if (v instanceof Uint8Array) return { b: Array.from(v, (x) => x.toString(16).padStart(2, "0")).join("") };
  return v;
}

function decodeValue(v: unknown): SqlValue {
  if (v !== null && typeof v === "object") {
    const o = v as { n?: string; b?: string };
    if (o.n !== undefined) return BigInt(o.n);
    const hex = o.b ?? "";
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  return v as SqlValue;
}

export class ParkedRows {
  private readonly getStmt: SqliteStatement;
  private readonly putStmt: SqliteStatement;
  private readonly removeStmt: SqliteStatement;
  private readonly byReasonStmt: SqliteStatement;
  private readonly anyStmt: SqliteStatement;
  /** False when the table is known to be empty (read again at each settle): lookups are skipped. */
  private maybeAny = true;

  constructor(private readonly driver: SqliteDriver) {
    driver.exec(
      `CREATE TABLE IF NOT EXISTS ${PARKED_TABLE} (tbl TEXT NOT NULL, "key" TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (tbl, "key")) WITHOUT ROWID`,
    );
    this.getStmt = driver.prepare(`SELECT reason, detail FROM ${PARKED_TABLE} WHERE tbl = ? AND "key" = ?`);
    this.putStmt = driver.prepare(`INSERT OR REPLACE INTO ${PARKED_TABLE} (tbl, "key", reason, detail) VALUES (?, ?, ?, ?)`);
    this.removeStmt = driver.prepare(`DELETE FROM ${PARKED_TABLE} WHERE tbl = ? AND "key" = ?`);
    this.byReasonStmt = driver.prepare(`SELECT "key" FROM ${PARKED_TABLE} WHERE tbl = ? AND reason = ? ORDER BY "key"`);
    this.anyStmt = driver.prepare(`SELECT 1 FROM ${PARKED_TABLE} LIMIT 1`);
  }

  get(table: string, key: string): { reason: ParkReason; detail: string } | undefined {
    if (!this.maybeAny) return undefined;
    const r = this.getStmt.get([table, key]);
    return r ? { reason: String(r[0]) as ParkReason, detail: String(r[1]) } : undefined;
  }

  put(table: string, key: string, reason: ParkReason, detail: string): void {
    this.maybeAny = true;
    this.putStmt.run([table, key, reason, detail]);
  }

  remove(table: string, key: string): void {
    this.removeStmt.run([table, key]);
  }

  /** Keys (as text) of one table's rows parked for one reason. */
  keys(table: string, reason: ParkReason): string[] {
    if (!this.maybeAny) return [];
    return this.byReasonStmt.all([table, reason]).map((r) => String(r[0]));
  }

  /** Whether any row is parked, read from the table (and remembered until the next put). */
  any(): boolean {
    this.maybeAny = this.anyStmt.get([]) !== undefined;
    return this.maybeAny;
  }

  /** Every parked row (of one table), in table then key order; `keyNames` names a table's key columns. */
  list(keyNames: (table: string) => string[] | undefined, table?: string): ParkedRow[] {
    const rows =
      table === undefined
        ? this.driver.prepare(`SELECT tbl, "key", reason, detail FROM ${PARKED_TABLE} ORDER BY tbl, "key"`).all([])
        : this.driver.prepare(`SELECT tbl, "key", reason, detail FROM ${PARKED_TABLE} WHERE tbl = ? ORDER BY "key"`).all([table]);
    return rows.map((r) => {
      const values = keyFromText(String(r[1]));
      const names = keyNames(String(r[0])) ?? values.map((_, i) => String(i));
      const key: Record<string, SqlValue> = {};
      names.forEach((n, i) => (key[n] = values[i] ?? null));
      return { table: String(r[0]), key, reason: String(r[2]) as ParkReason, detail: String(r[3]) };
    });
  }

  counts(): ParkedCount[] {
    return this.driver
      .prepare(`SELECT tbl, reason, count(*) FROM ${PARKED_TABLE} GROUP BY tbl, reason ORDER BY tbl, reason`)
      .all([])
      .map((r) => ({ table: String(r[0]), reason: String(r[1]) as ParkReason, rows: Number(r[2]) }));
  }
}
