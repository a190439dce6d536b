/**
 * Schema discovery and the table contract (README, "The table contract"): every table `T` with a
 * `T_patches` sibling replicates. Reads each column's affinity (values.ts checks values by it)
 * and prints the `T_patches` DDL for users.
 */
import type { SqliteDriver } from "./driver.js";
import { SchemaError } from "./errors.js";

export const PATCHES_SUFFIX = "_patches";
export const RESERVED_COLUMNS = ["_patchedAt", "_sequenceId", "_peerId"] as const;
/**
 * Optional fourth reserved column of `T_patches`: the names of the columns a patch set to NULL
 * explicitly (absent and explicit NULL both read back as NULL). Without it they go to the
 * `_replic_nulls` side table, which costs one more write per such patch.
 */
export const NULLS_COLUMN = "_nulls";
/** Internal bookkeeping tables are prefixed with this and never replicate. */
export const INTERNAL_PREFIX = "_replic_";

/**
 * SQLite type affinity (section 3.1 of the SQLite datatype docs; BLOB is "no affinity": a column
 * without a declared type), plus ANY for the ANY columns of STRICT tables.
 */
export type Affinity = "INTEGER" | "TEXT" | "BLOB" | "REAL" | "NUMERIC" | "ANY";

export interface ColumnInfo {
  name: string;
  /** Declared type as written. */
  type: string;
  affinity: Affinity;
  /**
   * Values must be of the declared type itself (values.ts): the columns of a STRICT table, and
   * the INTEGER PRIMARY KEY of a rowid table (SQLite refuses anything but an integer there).
   * Other columns take any storage class, converted by their affinity, as SQLite stores them.
   */
  strict: boolean;
  notNull: boolean;
  hasDefault: boolean;
  /** 1-based position in the primary key, 0 when not part of it. */
  pk: number;
}

export interface TableSchema {
  name: string;
  patchesName: string;
  columns: ColumnInfo[];
  /** Column indexes of the primary key, in key order. */
  pkIndexes: number[];
  columnIndex: Map<string, number>;
  /** `T_patches` has the optional `_nulls` column. */
  inlineNulls: boolean;
}

export function quoteId(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The affinity of a declared type, by SQLite's rules in their order (datatype docs, 3.1):
 * `DATETIME`, `BOOLEAN`, `NUMERIC(10,2)` are NUMERIC, `NVARCHAR(120)` TEXT, no type BLOB. In a
 * STRICT table the type `ANY` keeps every value as given (elsewhere `ANY` is NUMERIC).
 */
export function affinityOf(declared: string, strict = false): Affinity {
  const t = declared.toUpperCase();
  if (strict && t === "ANY") return "ANY";
  if (t.includes("INT")) return "INTEGER";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "TEXT";
  if (t.includes("BLOB") || t === "") return "BLOB";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

/** Whether a table is STRICT and whether it is WITHOUT ROWID (false, false where SQLite cannot tell: before 3.37 neither STRICT nor this pragma existed). */
export function readTableKind(driver: SqliteDriver, table: string): { strict: boolean; withoutRowid: boolean } {
  try {
    const row = driver.prepare(`SELECT "strict", wr FROM pragma_table_list(?) WHERE schema = 'main'`).get([table]);
    if (row) return { strict: Number(row[0]) !== 0, withoutRowid: Number(row[1]) !== 0 };
  } catch {
    // No table_list pragma here (an old SQLite, or a host that refuses it): no STRICT tables either.
  }
  return { strict: false, withoutRowid: false };
}

export function readColumns(driver: SqliteDriver, table: string): ColumnInfo[] {
  const rows = driver
    .prepare(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid`)
    .all([table]);
  const kind = rows.length > 0 ? readTableKind(driver, table) : { strict: false, withoutRowid: false };
  const keyColumns = rows.filter((r) => Number(r[4]) > 0).length;
  return rows.map((r) => {
    const type = String(r[1] ?? "");
    const pk = Number(r[4]);
    // INTEGER PRIMARY KEY of a rowid table is the rowid itself: SQLite stores only integers there.
    const rowid = !kind.withoutRowid && pk > 0 && keyColumns === 1 && type.toUpperCase() === "INTEGER";
    return {
      name: String(r[0]),
      type,
      affinity: affinityOf(type, kind.strict),
      strict: kind.strict || rowid,
      notNull: Number(r[2]) !== 0,
      hasDefault: r[3] !== null,
      pk,
    };
  });
}

function listTables(driver: SqliteDriver): Set<string> {
  const rows = driver.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).all([]);
  return new Set(rows.map((r) => String(r[0])));
}

/** Finds and checks every replicated table. Throws SchemaError naming table and column. */
export function discoverTables(driver: SqliteDriver): TableSchema[] {
  const tables = listTables(driver);
  const out: TableSchema[] = [];
  for (const patchesName of [...tables].sort()) {
    if (!patchesName.endsWith(PATCHES_SUFFIX) || patchesName.startsWith(INTERNAL_PREFIX)) continue;
    const name = patchesName.slice(0, -PATCHES_SUFFIX.length);
    if (!name || !tables.has(name)) continue; // a patches table without its base does not replicate
    out.push(checkTable(name, readColumns(driver, name), readColumns(driver, patchesName)));
  }
  return out;
}

/**
 * The rules of the contract that concern `T` alone: a primary key and no reserved column name.
 * Checked by openReplica (through checkTable)
 * and by patchesDdl before `T_patches` exists, so both refuse exactly the same tables.
 * Returns the column indexes of the primary key, in key order.
 */
export function checkBaseTable(name: string, columns: ColumnInfo[]): number[] {
  if (columns.length === 0) throw new SchemaError(name, undefined, `table "${name}" does not exist`);
  const pkIndexes = columns
    .map((c, i) => [c.pk, i] as const)
    .filter(([pk]) => pk > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([, i]) => i);
  if (pkIndexes.length === 0) {
    throw new SchemaError(name, undefined, `table "${name}" has no primary key; a replicated table needs one`);
  }
  for (const reserved of [...RESERVED_COLUMNS, NULLS_COLUMN]) {
    if (columns.some((c) => c.name === reserved)) {
      throw new SchemaError(name, reserved, `table "${name}" uses the reserved column name "${reserved}"`);
    }
  }
  // NOT NULL without DEFAULT is fine: a row a patch creates without the column waits, parked,
  // until a patch sets it (visibility.ts).
  return pkIndexes;
}

/** The whole contract for `T` and its `T_patches`. Throws SchemaError naming table and column. */
export function checkTable(name: string, columns: ColumnInfo[], patchColumns: ColumnInfo[]): TableSchema {
  const patchesName = name + PATCHES_SUFFIX;
  const pkIndexes = checkBaseTable(name, columns);
  const byName = new Map(patchColumns.map((c) => [c.name, c]));
  for (const reserved of RESERVED_COLUMNS) {
    if (!byName.has(reserved)) {
      throw new SchemaError(name, reserved, `table "${patchesName}" lacks the reserved column "${reserved}"`);
    }
  }
  for (const c of columns) {
    const pc = byName.get(c.name);
    if (!pc) {
      throw new SchemaError(name, c.name, `table "${patchesName}" lacks column "${c.name}" of table "${name}"`);
    }
    if (c.pk === 0 && pc.notNull) {
      throw new SchemaError(
        name,
        c.name,
        `column "${patchesName}"."${c.name}" must be nullable: a patch may leave it out`,
      );
    }
  }
  const nullsCol = byName.get(NULLS_COLUMN);
  if (nullsCol && nullsCol.notNull) {
    throw new SchemaError(name, NULLS_COLUMN, `column "${patchesName}"."${NULLS_COLUMN}" must be nullable`);
  }
  for (const pc of patchColumns) {
    if (isReserved(pc.name) || columns.some((c) => c.name === pc.name)) continue;
    if (pc.notNull && !pc.hasDefault && pc.pk === 0) {
      throw new SchemaError(name, pc.name, `extra column "${patchesName}"."${pc.name}" is NOT NULL without a DEFAULT`);
    }
  }
  return {
    name,
    patchesName,
    columns,
    pkIndexes,
    columnIndex: new Map(columns.map((c, i) => [c.name, i])),
    inlineNulls: byName.has(NULLS_COLUMN),
  };
}

function isReserved(name: string): boolean {
  return (RESERVED_COLUMNS as readonly string[]).includes(name) || name === NULLS_COLUMN;
}

/**
 * The DDL of `T_patches` for an existing table `T`, with the indexes replic relies on.
 * (openReplica creates the two indexes itself when they are missing.) Throws the SchemaError
 * openReplica would throw for `T` (checkBaseTable): no DDL is printed for a table that could
 * not replicate.
 */
export function patchesDdl(driver: SqliteDriver, table: string): string {
  const columns = readColumns(driver, table);
  checkBaseTable(table, columns); // what openReplica would refuse once T_patches exists
  if (table.startsWith(INTERNAL_PREFIX)) {
    // openReplica skips these: a T_patches for it would never replicate.
    throw new SchemaError(table, undefined, `table "${table}" is replic's own bookkeeping (prefix "${INTERNAL_PREFIX}") and never replicates`);
  }
  return patchesDdlFromColumns(table, columns, readTableKind(driver, table).strict);
}

/** The key of an origin's patches: duplicates and range reads (unique). */
const SEQUENCE_KEY = ["_peerId", "_sequenceId"];
/** The key of a row's patches in merge order: a late patch's probe for its row's later patches. */
function rowKey(pkNames: string[]): string[] {
  return [...pkNames, "_patchedAt", ...SEQUENCE_KEY];
}

/**
 * `strict`: `T` is a STRICT table, and so is its `T_patches`, so that a patch row stores each
 * value exactly as `T` does (an `ANY` column of a plain table would convert "12" to 12).
 */
export function patchesDdlFromColumns(table: string, columns: Pick<ColumnInfo, "name" | "type" | "pk">[], strict = false): string {
  const p = table + PATCHES_SUFFIX;
  const pk = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  const lines = columns.map((c) => `  ${quoteId(c.name)}${c.type ? " " + c.type : ""}`);
  lines.push(`  "_patchedAt" INTEGER NOT NULL`, `  "_sequenceId" INTEGER NOT NULL`, `  "_peerId" INTEGER NOT NULL`);
  lines.push(`  "${NULLS_COLUMN}" TEXT`); // explicit NULLs in the patch row itself: no side-table write
  // Clustered by origin then sequence: an origin's new patches are appended where its rows end,
  // serving a range to a neighbour and collecting are range scans of the table itself, and the
  // row index (narrow) finds a row's later patches when a late patch merges. With random keys
  // this writes fewer pages than clustering by row; bench/patch-layout.mjs measures both.
  lines.push(`  PRIMARY KEY (${SEQUENCE_KEY.map(quoteId).join(", ")})`);
  return [
    `CREATE TABLE ${quoteId(p)} (\n${lines.join(",\n")}\n) WITHOUT ROWID${strict ? ", STRICT" : ""};`,
    `CREATE INDEX ${quoteId(p + "_row")} ON ${quoteId(p)} (${rowKey(pk.map((c) => c.name)).map(quoteId).join(", ")});`,
  ].join("\n");
}

/**
 * Ensures the two indexes the engine needs exist on `T_patches`: unique (_peerId, _sequenceId)
 * for duplicates and range reads, and (pk..., _patchedAt, _peerId, _sequenceId) for merging
 * out-of-order patches. Existing equivalent indexes (any name) are reused.
 */
export function ensurePatchIndexes(driver: SqliteDriver, t: TableSchema): void {
  const indexes = driver
    .prepare(`SELECT name, "unique" FROM pragma_index_list(?)`)
    .all([t.patchesName])
    .map((r) => ({
      name: String(r[0]),
      unique: Number(r[1]) !== 0,
      cols: driver
        .prepare(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`)
        .all([String(r[0])])
        .map((c) => String(c[0])),
    }));
  const starts = (cols: string[], prefix: string[]) => prefix.every((c, i) => cols[i] === c);
  if (!indexes.some((ix) => ix.unique && ix.cols.length === SEQUENCE_KEY.length && starts(ix.cols, SEQUENCE_KEY))) {
    try {
      driver.exec(
        `CREATE UNIQUE INDEX IF NOT EXISTS ${quoteId(t.patchesName + "_replic_seq")} ON ${quoteId(t.patchesName)} (${SEQUENCE_KEY.map(quoteId).join(", ")})`,
      );
    } catch (cause) {
      throw new SchemaError(t.name, "_sequenceId", `"${t.patchesName}" holds duplicate (_peerId, _sequenceId) pairs: ${String(cause)}`);
    }
  }
  const row = rowKey(t.pkIndexes.map((i) => t.columns[i]!.name));
  if (!indexes.some((ix) => starts(ix.cols, row))) {
    driver.exec(
      `CREATE INDEX IF NOT EXISTS ${quoteId(t.patchesName + "_replic_row")} ON ${quoteId(t.patchesName)} (${row.map(quoteId).join(", ")})`,
    );
  }
}
