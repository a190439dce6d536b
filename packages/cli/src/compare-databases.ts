/**
 * `replic verify <db> --against <other>`: two replicas' databases compared table by table. The
 * other file is attached to this connection and both copies of each replicated table are walked
 * in primary-key order, a page at a time (memory stays flat): rows of this one looked up in the
 * other (changed, or only here), then rows of the other looked up here (only there). Values are
 * compared exactly: same storage class and same bytes.
 */
import { existsSync } from "node:fs";
import type { SqliteDriver, SqlValue } from "@replic/core";
import { CliError } from "./cli-error.js";
import { keyJson } from "./verify-table.js";

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const OTHER = "replic_against";

export type RowDifferenceKind = "changed" | "only-here" | "only-there";

export interface TableComparison {
  table: string;
  rowsHere: number;
  rowsThere: number;
  /** Rows that differ: changed + onlyHere + onlyThere. */
  differing: number;
  changed: number;
  onlyHere: number;
  onlyThere: number;
  /** Columns of T in one database only (the others are compared). */
  columnsOnlyHere: string[];
  columnsOnlyThere: string[];
  /** The first differing rows (primary key as JSON), at most `limit`. */
  keys: { key: string; kind: RowDifferenceKind }[];
  /** Runs of consecutive differing rows in key order (a walk of one database), at most `limit`. */
  ranges: { from: string; to: string; rows: number }[];
}

export interface Comparison {
  ok: boolean;
  against: string;
  /** Replicated tables of one database only. */
  tablesOnlyHere: string[];
  tablesOnlyThere: string[];
  tables: TableComparison[];
}

export interface CompareOptions {
  /** Only this table (it must replicate in both). */
  table?: string;
  /** Most keys and ranges listed per table. Default 20. */
  limit?: number;
  pageSize?: number;
}

/** Replicated tables (a `T` with a `T_patches` sibling) of the schema `schema`. */
function replicatedTables(driver: SqliteDriver, schema: string): string[] {
  const names = new Set(driver.prepare(`SELECT name FROM ${schema}.sqlite_schema WHERE type = 'table'`).all([]).map((r) => String(r[0])));
  return [...names].filter((n) => !n.startsWith("_replic_") && !n.endsWith("_patches") && names.has(`${n}_patches`)).sort();
}

function columns(driver: SqliteDriver, schema: string, table: string): { name: string; pk: number }[] {
  return driver
    .prepare(`SELECT name, pk FROM ${schema}.pragma_table_info(?) ORDER BY cid`)
    .all([table])
    .map((r) => ({ name: String(r[0]), pk: Number(r[1]) }));
}

export function compareDatabases(driver: SqliteDriver, otherPath: string, options: CompareOptions = {}): Comparison {
  const { limit = 20, pageSize = 1000 } = options;
  if (!existsSync(otherPath)) throw new CliError("NOT_FOUND", `no database file at ${otherPath}`);
  driver.prepare(`ATTACH DATABASE ? AS ${OTHER}`).run([otherPath]);
  try {
    let here: string[];
    let there: string[];
    try {
      here = replicatedTables(driver, "main");
      there = replicatedTables(driver, OTHER);
    } catch (err) {
      throw new CliError("NOT_A_DATABASE", `${otherPath}: ${(err as Error).message}`);
    }
    if (options.table !== undefined) {
      for (const [list, path] of [
        [here, "this database"],
        [there, otherPath],
      ] as const) {
        if (!list.includes(options.table)) throw new CliError("UNKNOWN_TABLE", `"${options.table}" is not a replicated table of ${path}`);
      }
    } else if (here.length === 0 && there.length === 0) {
      throw new CliError("NOT_REPLIC", "neither database has a replicated table");
    }
    const both = options.table !== undefined ? [options.table] : here.filter((t) => there.includes(t));
    const out: Comparison = {
      ok: true,
      against: otherPath,
      tablesOnlyHere: options.table !== undefined ? [] : here.filter((t) => !there.includes(t)),
      tablesOnlyThere: options.table !== undefined ? [] : there.filter((t) => !here.includes(t)),
      tables: both.map((t) => compareTable(driver, t, limit, pageSize)),
    };
    out.ok = out.tablesOnlyHere.length === 0 && out.tablesOnlyThere.length === 0 && out.tables.every((t) => t.differing === 0 && t.columnsOnlyHere.length + t.columnsOnlyThere.length === 0);
    return out;
  } finally {
    driver.exec(`DETACH DATABASE ${OTHER}`);
  }
}

function compareTable(driver: SqliteDriver, table: string, limit: number, pageSize: number): TableComparison {
  const mine = columns(driver, "main", table);
  const theirs = columns(driver, OTHER, table);
  const theirNames = new Set(theirs.map((c) => c.name));
  const myNames = new Set(mine.map((c) => c.name));
  const pk = mine.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => q(c.name));
  const common = mine.filter((c) => c.pk === 0 && theirNames.has(c.name)).map((c) => q(c.name));
  const T = `main.${q(table)}`;
  const O = `${OTHER}.${q(table)}`;
  const res: TableComparison = {
    table,
    rowsHere: Number(driver.prepare(`SELECT count(*) FROM ${T}`).get([])![0]),
    rowsThere: Number(driver.prepare(`SELECT count(*) FROM ${O}`).get([])![0]),
    differing: 0,
    changed: 0,
    onlyHere: 0,
    onlyThere: 0,
    columnsOnlyHere: mine.filter((c) => !theirNames.has(c.name)).map((c) => c.name),
    columnsOnlyThere: theirs.filter((c) => !myNames.has(c.name)).map((c) => c.name),
    keys: [],
    ranges: [],
  };
  const tuple = (a: string) => (pk.length === 1 ? `${a}.${pk[0]}` : `(${pk.map((c) => `${a}.${c}`).join(", ")})`);
  const params = pk.length === 1 ? "?" : `(${pk.map(() => "?").join(", ")})`;
  const order = (a: string) => `ORDER BY ${pk.map((c) => `${a}.${c}`).join(", ")}`;
  // Exactly equal: the same storage class and the same bytes (BINARY, whatever the column's collation).
  const differs = common.map((c) => `typeof(t.${c}) IS NOT typeof(o.${c}) OR t.${c} IS NOT o.${c} COLLATE BINARY`).join(" OR ") || "0";
  const samePk = (searched: string, other: string) => pk.map((c) => `${searched}.${c} = ${other}.${c}`).join(" AND ");
  // Per row: 0 equal, 1 changed, 2 not in the other database.
  const walkHere = `SELECT ${pk.map((c) => `t.${c}`).join(", ")}, CASE WHEN o.${pk[0]} IS NULL AND NOT EXISTS (SELECT 1 FROM ${O} AS x WHERE ${samePk("x", "t")}) THEN 2 WHEN ${differs} THEN 1 ELSE 0 END
    FROM ${T} AS t LEFT JOIN ${O} AS o ON ${samePk("o", "t")}`;
  const walkThere = `SELECT ${pk.map((c) => `o.${c}`).join(", ")}, CASE WHEN EXISTS (SELECT 1 FROM ${T} AS t WHERE ${samePk("t", "o")}) THEN 0 ELSE 3 END FROM ${O} AS o`;
  const kinds: Record<number, RowDifferenceKind> = { 1: "changed", 2: "only-here", 3: "only-there" };
  for (const [sql, alias] of [
    [walkHere, "t"],
    [walkThere, "o"],
  ] as const) {
    const first = driver.prepare(`${sql} ${order(alias)} LIMIT ?`);
    const next = driver.prepare(`${sql} WHERE ${tuple(alias)} > ${params} ${order(alias)} LIMIT ?`);
    let run: { from: string; to: string; rows: number } | undefined;
    const endRun = () => {
      if (run && res.ranges.length < limit) res.ranges.push(run);
      run = undefined;
    };
    for (let after: SqlValue[] | undefined; ; ) {
      const page = after === undefined ? first.all([pageSize]) : next.all([...after, pageSize]);
      for (const row of page) {
        const verdict = Number(row[pk.length]);
        if (verdict === 0) {
          endRun();
          continue;
        }
        const key = keyJson(row.slice(0, pk.length));
        const kind = kinds[verdict]!;
        res.differing++;
        if (kind === "changed") res.changed++;
        else if (kind === "only-here") res.onlyHere++;
        else res.onlyThere++;
        if (res.keys.length < limit) res.keys.push({ key, kind });
        if (run) {
          run.to = key;
          run.rows++;
        } else run = { from: key, to: key, rows: 1 };
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.slice(0, pk.length);
    }
    endRun();
  }
  return res;
}
