/**
 * Scopes (docs/scopes.md): which rows a replica holds (`scope`) and which rows a neighbour may
 * write here (`allow` of addPeer). A scope names, per table, allowed values of primary-key
 * columns; a row is inside when each named column's value is one of its list; tables not named
 * are held whole. Filtering on key columns only means a row never moves in or out of a scope by
 * an update. This file checks a scope against the schema (INVALID_SCOPE) and decides membership.
 */
import type { Catalog } from "./catalog.js";
import type { SqlValue } from "./driver.js";
import { isReplicError, ReplicError } from "./errors.js";
import type { ReplicatedTable } from "./replicated-table.js";
import type { ColumnInfo, TableSchema } from "./schema.js";
import { checkValue } from "./values.js";

/** Per table, per primary-key column, the values a row may have. */
export type Scope = { readonly [table: string]: { readonly [keyColumn: string]: readonly SqlValue[] } };

/** A write or a received message outside a scope. Nothing of it was written. */
export class OutOfScopeError extends ReplicError {
  /** The table of the first patch outside. */
  readonly table: string;
  /** Its primary key, by column name. */
  readonly key: Record<string, SqlValue>;
  /** The neighbour whose message was refused; undefined for a local write. */
  readonly fromPeerId: number | undefined;
  constructor(message: string, table: string, key: Record<string, SqlValue>, fromPeerId?: number) {
    super("OUT_OF_SCOPE", message);
    this.name = "OutOfScopeError";
    this.table = table;
    this.key = key;
    this.fromPeerId = fromPeerId;
  }
}

/** One named key column of a table: its name and the allowed values, by membership key. */
interface ColumnRule {
  name: string;
  values: Set<string>;
}

/** A scope checked against the schema, ready to decide membership. */
export class ResolvedScope {
  private readonly rules = new Map<string, ColumnRule[]>();

  /** `scope`: the checked scope, values as they are stored (a frozen copy). */
  constructor(readonly scope: Scope) {}

  /** @internal */ setRules(table: string, rules: ColumnRule[]): void {
    this.rules.set(table, rules);
  }

  /** Whether the scope names this table (tables not named are held whole). */
  names(table: string): boolean {
    return this.rules.has(table);
  }

  /** Whether a patch (engine form: sorted column indexes and their values) is inside. */
  covers(t: ReplicatedTable, cols: readonly number[], values: readonly SqlValue[]): boolean {
    const rules = this.rules.get(t.name);
    if (rules === undefined) return true;
    for (const r of rules) {
      // By name: a migration may have moved the column; gone or no longer a key, nothing is inside.
      const i = t.schema.columnIndex.get(r.name);
      const col = i === undefined ? undefined : t.schema.columns[i];
      if (col === undefined || col.pk === 0) return false;
      const at = cols.indexOf(i!);
      if (at < 0 || !r.values.has(memberKey(col, values[at]!))) return false;
    }
    return true;
  }
}

/**
 * Checks a scope (the option `scope`, or the `allow` of addPeer, named by `what`) against the
 * replicated tables; undefined when absent. Throws ReplicError(INVALID_SCOPE).
 */
export function resolveScope(catalog: Catalog, scope: unknown, what: string): ResolvedScope | undefined {
  if (scope === undefined) return undefined;
  if (!isPlainObject(scope)) throw invalid(`${what} must be an object { table: { keyColumn: [values] } }, got ${describe(scope)}`);
  const tables = Object.keys(scope);
  if (tables.length === 0) throw invalid(`${what} names no table: leave it out to hold every row`);
  const checked: Record<string, Record<string, SqlValue[]>> = {};
  const rules: Array<[string, ColumnRule[]]> = [];
  for (const name of tables) {
    const t = catalog.tables.get(name);
    if (!t) throw invalid(`${what} names "${name}", which is not a replicated table`);
    const columns = (scope as Record<string, unknown>)[name];
    if (!isPlainObject(columns)) throw invalid(`${what}.${name} must be an object { keyColumn: [values] }, got ${describe(columns)}`);
    const names = Object.keys(columns);
    if (names.length === 0) throw invalid(`${what}.${name} names no key column: leave the table out to hold it whole`);
    const tableRules: ColumnRule[] = [];
    checked[name] = {};
    for (const c of names) {
      const i = t.schema.columnIndex.get(c);
      const col = i === undefined ? undefined : t.schema.columns[i];
      if (col === undefined) throw invalid(`${what}.${name} names "${c}", which is not a column of "${name}"`);
      if (col.pk === 0) throw invalid(`${what}.${name} names "${c}", which is not a primary-key column of "${name}" (a scope filters on key columns only)`);
      const list = (columns as Record<string, unknown>)[c];
      if (!Array.isArray(list)) throw invalid(`${what}.${name}.${c} must be an array of values, got ${describe(list)}`);
      const values = list.map((v) => scopeValue(t.schema, col, v, `${what}.${name}.${c}`));
      checked[name]![c] = values;
      tableRules.push({ name: c, values: new Set(values.map((v) => memberKey(col, v))) });
    }
    rules.push([name, tableRules]);
  }
  const resolved = new ResolvedScope(freeze(checked));
  for (const [name, r] of rules) resolved.setRules(name, r);
  return resolved;
}

/** A scope's value for a key column, as a write would store it; INVALID_SCOPE when its type cannot be the column's. */
function scopeValue(schema: TableSchema, col: ColumnInfo, v: unknown, where: string): SqlValue {
  let stored: SqlValue;
  try {
    stored = checkValue(schema, col, v);
  } catch (err) {
    if (!isReplicError(err)) throw err;
    throw invalid(`${where}: ${err.message}`);
  }
  // A plain table would store any storage class; in a scope a value of another kind than the
  // column's is a mistake (a tenant id given as a name), so it is refused.
  const numeric = typeof stored === "number" || typeof stored === "bigint";
  const ok =
    col.affinity === "INTEGER" || col.affinity === "REAL" || col.affinity === "NUMERIC"
      ? numeric
      : col.affinity === "TEXT"
        ? typeof stored === "string" || (numeric && !col.strict)
        : true;
  if (!ok) throw invalid(`${where}: "${schema.name}"."${col.name}" is declared ${col.type || "without a type"}; ${describe(v)} cannot be one of its keys`);
  return col.affinity === "TEXT" && !col.strict && numeric ? String(stored) : stored;
}

/**
 * The identity of a key value as SQLite stores it in `col`: numbers by value (1, 1.0 and 1n are
 * one key), text by its characters, blobs by their bytes. A plain TEXT column stores a number as
 * its text, so there it is the text.
 */
function memberKey(col: ColumnInfo, v: SqlValue): string {
  if (typeof v === "number" || typeof v === "bigint") {
    const n = Object.is(v, -0) ? "0" : String(v);
    return col.affinity === "TEXT" && !col.strict ? `s${n}` : `n${n}`;
  }
  if (typeof v === "string") return `s${v}`;
  if (v instanceof Uint8Array) {
    let hex = "b";
    for (const b of v) hex += b.toString(16).padStart(2, "0");
    return hex;
  }
  return "z"; // NULL: never a key value, so never in a list
}

/** Whether two scopes name the same rows (same tables, columns and values, in any order). */
export function sameScope(a: Scope | undefined, b: Scope | undefined): boolean {
  return canonical(a) === canonical(b);
}

function canonical(s: Scope | undefined): string {
  if (s === undefined) return "*";
  const key = (v: SqlValue) => {
    if (v instanceof Uint8Array) return `b${[...v].join(",")}`;
    return `${typeof v === "bigint" ? "number" : typeof v}:${String(v)}`;
  };
  return Object.keys(s)
    .sort()
    .map((t) =>
      `${JSON.stringify(t)}{${Object.keys(s[t]!)
        .sort()
        .map((c) => `${JSON.stringify(c)}[${[...new Set(s[t]![c]!.map(key))].sort().join("|")}]`)
        .join(",")}}`,
    )
    .join(";");
}

/** The primary key of a patch, by column name (for error messages and logs). */
export function keyRecord(t: ReplicatedTable, cols: readonly number[], values: readonly SqlValue[]): Record<string, SqlValue> {
  const key: Record<string, SqlValue> = {};
  for (const i of t.schema.pkIndexes) key[t.columnNames[i]!] = values[cols.indexOf(i)]!;
  return key;
}

/** A key for a message: `{"tenantId":2,"id":7}` (bigints and blobs readable). */
export function describeKey(key: Record<string, SqlValue>): string {
  return JSON.stringify(key, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `x'${[...v].map((b) => b.toString(16).padStart(2, "0")).join("")}'` : v));
}

function isPlainObject(v: unknown): v is object {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function freeze(s: Record<string, Record<string, SqlValue[]>>): Scope {
  for (const cols of Object.values(s)) {
    for (const list of Object.values(cols)) Object.freeze(list);
    Object.freeze(cols);
  }
  return Object.freeze(s);
}

function invalid(message: string): ReplicError {
  return new ReplicError("INVALID_SCOPE", message);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the text ${JSON.stringify(v)}`;
  if (typeof v === "number" || typeof v === "bigint") return `the number ${String(v)}`;
  if (v instanceof Uint8Array) return "a blob";
  return typeof v === "object" ? "an object" : typeof v;
}
