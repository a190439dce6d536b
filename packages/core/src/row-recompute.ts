/**
 * Whether the rows of a replicated table are what the merge rule makes of their patches, checked
 * in SQL a bounded page at a time. Used by `rebuild()` (rebuild.ts), by the scrub of every
 * heartbeat round (scrub.ts) and by `replic verify`.
 *
 * A row of `T` agrees with its patches when every column that some retained patch set holds the
 * value of the highest (_patchedAt, _peerId, _sequenceId) patch that set it (a value, or an
 * explicit NULL). Columns no retained patch set are not compared: their value came from patches
 * collected since (collected patches are older than every retained one, so the newest retained
 * setter is still the winner), from a DEFAULT, or from before the table replicated. A row no
 * retained patch names is left alone for the same reason ("unpatched"). Besides, a row shown in
 * `T` must not be parked, and a row with patches that is not parked must be shown.
 *
 * Two walks, each in primary-key order and each bounded by the number of keys it returns: the
 * rows of `T` (changed values, rows shown while parked), and the distinct keys of `T_patches`
 * (rows missing from `T`), read from its row index (a row's patches are stepped over there).
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { ValidationError } from "./errors.js";
import { NAME_SEPARATOR, NULLS_TABLE } from "./null-store.js";
import { keyText, PARKED_TABLE } from "./parked-rows.js";
import { discoverTables, quoteId, type TableSchema } from "./schema.js";

/**
 * How a row differs from its patches: `changed`, a value of `T` is not the merge of its patches;
 * `missing`, the row has patches, is not parked and is not in `T`; `shown-parked`, the row is in
 * `T` although it is parked (it breaks a constraint of `T`).
 */
export type DivergenceKind = "changed" | "missing" | "shown-parked";

export interface RowDifference {
  /** Primary-key values, in key order. */
  key: SqlValue[];
  kind: DivergenceKind;
}

/** One page of a walk: the keys it covered and what differs among them. */
export interface RecomputePage {
  /** Keys looked at. */
  keys: number;
  /** The last key looked at (the cursor for the next page), or undefined when there was none. */
  last: SqlValue[] | undefined;
  /** Rows of `T` no retained patch names (shown walk only): nothing to compare them with. */
  unpatched: number;
  differences: RowDifference[];
}

export class RowRecompute {
  readonly keyNames: string[];
  private readonly shownFirst: SqliteStatement;
  private readonly shownNext: SqliteStatement;
  private readonly shownOne: SqliteStatement;
  private readonly patchedFirst: SqliteStatement;
  private readonly patchedNext: SqliteStatement;
  private readonly patchedOne: SqliteStatement;
  private readonly parkedStmt: SqliteStatement | undefined;
  private readonly anyParkedStmt: SqliteStatement | undefined;
  /** Whether this table has parked rows, read once per page (most tables have none: no lookup per row then). */
  private parkedHere = true;

  constructor(
    driver: SqliteDriver,
    readonly schema: TableSchema,
  ) {
    const s = schema;
    const name = (i: number) => quoteId(s.columns[i]!.name);
    this.keyNames = s.pkIndexes.map((i) => s.columns[i]!.name);
    const P = quoteId(s.patchesName);
    const T = quoteId(s.name);
    const pk = s.pkIndexes.map(name);
    const tuple = (alias: string) => (pk.length === 1 ? `${alias}.${pk[0]}` : `(${pk.map((c) => `${alias}.${c}`).join(", ")})`);
    const params = pk.length === 1 ? "?" : `(${pk.map(() => "?").join(", ")})`;
    // The searched table's column on the left: its collation decides, so its index serves.
    const patchOfRow = pk.map((c) => `p.${c} = t.${c}`).join(" AND ");
    const rowOfPatch = pk.map((c) => `t.${c} = p.${c}`).join(" AND ");
    const nullsOf = s.inlineNulls ? `p."_nulls"` : "n.cols";
    const join = s.inlineNulls ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    const sep = `char(${NAME_SEPARATOR.charCodeAt(0)})`;
    const sets = (c: string, raw: string) =>
      `(p.${c} IS NOT NULL OR instr(${sep} || coalesce(${nullsOf}, '') || ${sep}, ${sep} || '${raw.replace(/'/g, "''")}' || ${sep}) > 0)`;
    // Per column: does the newest patch that set it hold another value than T? NULL (no setter) is agreement.
    const checks = s.columns
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c.pk === 0)
      .map(
        ({ c, i }) =>
          `coalesce((SELECT p.${name(i)} IS NOT t.${name(i)} COLLATE BINARY FROM ${P} AS p ${join} WHERE ${patchOfRow} AND ${sets(name(i), c.name)}
            ORDER BY p."_patchedAt" DESC, p."_peerId" DESC, p."_sequenceId" DESC LIMIT 1), 0)`,
      );
    const shown = `SELECT ${pk.map((c) => `t.${c}`).join(", ")}, EXISTS (SELECT 1 FROM ${P} AS p WHERE ${patchOfRow}), ${
      checks.length > 0 ? checks.join(" OR ") : "0"
    } FROM ${T} AS t`;
    const order = (alias: string) => `ORDER BY ${pk.map((c) => `${alias}.${c}`).join(", ")}`;
    this.shownFirst = driver.prepare(`${shown} ${order("t")} LIMIT ?`);
    this.shownNext = driver.prepare(`${shown} WHERE ${tuple("t")} > ${params} ${order("t")} LIMIT ?`);
    this.shownOne = driver.prepare(`${shown} WHERE ${pk.map((c) => `t.${c} = ?`).join(" AND ")}`);
    // The next distinct keys of T_patches, in the order of its row index (one statement a page).
    const distinct = (where: string) => `SELECT DISTINCT ${pk.map((c) => `p.${c}`).join(", ")} FROM ${P} AS p ${where} ${order("p")} LIMIT ?`;
    const patched = (where: string) =>
      `SELECT ${pk.map((c) => `p.${c}`).join(", ")}, EXISTS (SELECT 1 FROM ${T} AS t WHERE ${rowOfPatch}) FROM (${distinct(where)}) AS p ${order("p")}`;
    this.patchedFirst = driver.prepare(patched(""));
    this.patchedNext = driver.prepare(patched(`WHERE ${tuple("p")} > ${params}`));
    this.patchedOne = driver.prepare(patched(`WHERE ${pk.map((c) => `p.${c} = ?`).join(" AND ")}`));
    const parkedExists = driver.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get([PARKED_TABLE]) !== undefined;
    this.parkedStmt = parkedExists ? driver.prepare(`SELECT 1 FROM ${PARKED_TABLE} WHERE tbl = ? AND "key" = ?`) : undefined;
    this.anyParkedStmt = parkedExists ? driver.prepare(`SELECT 1 FROM ${PARKED_TABLE} WHERE tbl = ? LIMIT 1`) : undefined;
  }

  /** The rows of `T` after `after` (from the first when undefined), at most `limit` of them. */
  shownPage(after: readonly SqlValue[] | undefined, limit: number): RecomputePage {
    this.readParked();
    const rows = after === undefined ? this.shownFirst.all([limit]) : this.shownNext.all([...after, limit]);
    const page: RecomputePage = { keys: rows.length, last: undefined, unpatched: 0, differences: [] };
    for (const row of rows) this.judgeShown(row, page);
    if (rows.length > 0) page.last = rows[rows.length - 1]!.slice(0, this.keyNames.length);
    return page;
  }

  /** The distinct keys of `T_patches` after `after`, at most `limit` of them: rows missing from `T`. */
  patchedPage(after: readonly SqlValue[] | undefined, limit: number): RecomputePage {
    this.readParked();
    const rows = after === undefined ? this.patchedFirst.all([limit]) : this.patchedNext.all([...after, limit]);
    const page: RecomputePage = { keys: rows.length, last: undefined, unpatched: 0, differences: [] };
    for (const row of rows) this.judgePatched(row, page);
    if (rows.length > 0) page.last = rows[rows.length - 1]!.slice(0, this.keyNames.length);
    return page;
  }

  /** Checks the rows of these keys again, both ways; returns those that still differ. */
  check(keys: readonly (readonly SqlValue[])[]): RowDifference[] {
    const page: RecomputePage = { keys: 0, last: undefined, unpatched: 0, differences: [] };
    this.readParked();
    for (const key of keys) {
      page.keys++;
      const shown = this.shownOne.get(key as SqlValue[]);
      if (shown) this.judgeShown(shown, page);
      else {
        const patched = this.patchedOne.get([...key, 1]);
        if (patched) this.judgePatched(patched, page);
      }
    }
    return page.differences;
  }

  /** A key as an object of its primary-key columns. */
  keyObject(key: readonly SqlValue[]): Record<string, SqlValue> {
    const o: Record<string, SqlValue> = {};
    this.keyNames.forEach((n, i) => (o[n] = key[i] ?? null));
    return o;
  }

  private judgeShown(row: SqlValue[], page: RecomputePage): void {
    const n = this.keyNames.length;
    const key = row.slice(0, n);
    if (Number(row[n]) === 0) {
      page.unpatched++;
      return;
    }
    if (this.isParked(key)) page.differences.push({ key, kind: "shown-parked" });
    else if (Number(row[n + 1]) !== 0) page.differences.push({ key, kind: "changed" });
  }

  private judgePatched(row: SqlValue[], page: RecomputePage): void {
    const n = this.keyNames.length;
    if (Number(row[n]) !== 0) return; // shown: the walk of T judges it
    const key = row.slice(0, n);
    if (!this.isParked(key)) page.differences.push({ key, kind: "missing" });
  }

  private readParked(): void {
    this.parkedHere = this.anyParkedStmt !== undefined && this.anyParkedStmt.get([this.schema.name]) !== undefined;
  }

  private isParked(key: readonly SqlValue[]): boolean {
    return this.parkedHere && this.parkedStmt!.get([this.schema.name, keyText(key)]) !== undefined;
  }
}

/**
 * A checker for one replicated table of a database, found by name (for tools that hold no
 * replica, such as `replic verify`). Throws UNKNOWN_TABLE when `table` does not replicate.
 */
export function openRowRecompute(driver: SqliteDriver, table: string): RowRecompute {
  const schema = discoverTables(driver).find((s) => s.name === table);
  if (!schema) {
    throw new ValidationError("UNKNOWN_TABLE", `"${String(table)}" is not a replicated table (it needs a "${String(table)}_patches" sibling)`, { table: String(table) });
  }
  return new RowRecompute(driver, schema);
}
