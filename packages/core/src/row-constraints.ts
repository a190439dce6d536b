/**
 * The constraints of a replicated table `T` that decide whether a merged row may be shown
 * (README, "Rows become visible when they are valid"): NOT NULL columns, CHECK expressions,
 * foreign keys and unique indexes, read once from SQLite's own catalogue.
 */
import type { SqliteDriver } from "./driver.js";
import { quoteId, type TableSchema } from "./schema.js";

export interface ForeignKey {
  /** SQLite's id of the constraint (pragma_foreign_key_list). */
  id: number;
  parent: string;
  /** Child columns (indexes into T's columns), in constraint order. */
  from: number[];
  /** Parent column names, in constraint order (the parent's primary key when the DDL names none). */
  to: string[];
}

export interface UniqueIndex {
  name: string;
  /** Column indexes into T's columns. */
  cols: number[];
}

export interface RowConstraints {
  /** Non-key NOT NULL columns. */
  notNull: number[];
  /** Per column: the DEFAULT expression as SQLite keeps it, or null. */
  defaults: (string | null)[];
  /** CHECK expressions as written. */
  checks: string[];
  foreignKeys: ForeignKey[];
  /** Unique indexes other than the primary key (partial and expression indexes are left to SQLite). */
  unique: UniqueIndex[];
}

/** True when a row of this table can be invalid: it must be checked before it is shown. */
export function guarded(c: RowConstraints): boolean {
  return c.notNull.length > 0 || c.checks.length > 0 || c.foreignKeys.length > 0 || c.unique.length > 0;
}

export function readConstraints(driver: SqliteDriver, t: TableSchema): RowConstraints {
  const defaults = driver
    .prepare(`SELECT dflt_value FROM pragma_table_info(?) ORDER BY cid`)
    .all([t.name])
    .map((r) => (r[0] === null ? null : String(r[0])));
  const notNull: number[] = [];
  t.columns.forEach((c, i) => {
    if (c.notNull && c.pk === 0) notNull.push(i);
  });
  const sqlRow = driver.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).get([t.name]);
  const checks = checkExpressions(String(sqlRow?.[0] ?? ""));
  const byId = new Map<number, ForeignKey>();
  for (const r of driver.prepare(`SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq`).all([t.name])) {
    const id = Number(r[0]);
    let fk = byId.get(id);
    if (!fk) byId.set(id, (fk = { id, parent: String(r[1]), from: [], to: [] }));
    const ci = t.columnIndex.get(String(r[2]));
    if (ci === undefined) continue;
    fk.from.push(ci);
    if (r[3] !== null) fk.to.push(String(r[3]));
  }
  for (const fk of byId.values()) {
    if (fk.to.length === 0) {
      // REFERENCES parent without columns: the parent's primary key.
      fk.to = driver
        .prepare(`SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`)
        .all([fk.parent])
        .map((r) => String(r[0]));
    }
  }
  const unique: UniqueIndex[] = [];
  for (const r of driver.prepare(`SELECT name, origin, partial FROM pragma_index_list(?) WHERE "unique" = 1 ORDER BY name`).all([t.name])) {
    if (String(r[1]) === "pk" || Number(r[2]) !== 0) continue;
    const names = driver.prepare(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`).all([String(r[0])]);
    const cols = names.map((n) => (n[0] === null ? -1 : (t.columnIndex.get(String(n[0])) ?? -1)));
    if (cols.includes(-1)) continue; // an expression index
    unique.push({ name: String(r[0]), cols });
  }
  return { notNull, defaults, checks, foreignKeys: [...byId.values()], unique };
}

/**
 * The CHECK expressions of a CREATE TABLE statement (column and table constraints alike): each
 * `CHECK (` outside strings, quoted names and comments, up to its matching parenthesis.
 */
export function checkExpressions(sql: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === "`") {
      i = skipQuoted(sql, i, ch);
      continue;
    }
    if (ch === "[") {
      const end = sql.indexOf("]", i + 1);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (ch === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      if (sql.slice(i, j).toUpperCase() === "CHECK") {
        let k = j;
        while (k < n && /\s/.test(sql[k]!)) k++;
        if (sql[k] === "(") {
          const close = matchingParen(sql, k);
          out.push(sql.slice(k + 1, close).trim());
          i = close + 1;
          continue;
        }
      }
      i = j;
      continue;
    }
    i++;
  }
  return out;
}

function skipQuoted(sql: string, start: number, q: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

function matchingParen(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === "`") {
      i = skipQuoted(sql, i, ch);
      continue;
    }
    if (ch === "(") depth++;
    else if (ch === ")" && --depth === 0) return i;
    i++;
  }
  return sql.length;
}

/**
 * One SELECT evaluating every CHECK of `T` over bound values (one parameter per column, named as
 * the column, the table's name as alias): per expression 1 when it passes. SQLite passes a CHECK
 * whose value is NULL or a non-zero number, so the value is read as REAL the way SQLite reads it.
 */
export function checkSql(t: TableSchema, checks: readonly string[]): string {
  const cols = t.columns.map((c) => `? AS ${quoteId(c.name)}`).join(", ");
  const tests = checks.map((x) => `coalesce(CAST((${x}) AS REAL) <> 0, 1)`).join(", ");
  return `SELECT ${tests} FROM (SELECT ${cols}) AS ${quoteId(t.name)}`;
}
