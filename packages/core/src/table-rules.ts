/**
 * One table's rules for showing its rows (visibility.ts): its constraints and the prepared
 * statements that read its patches, its shown rows, the holders of its unique values and the
 * parents its foreign keys reference.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { NULLS_TABLE } from "./null-store.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { checkSql, type ForeignKey, type RowConstraints } from "./row-constraints.js";
import { INTERNAL_PREFIX, quoteId, type TableSchema } from "./schema.js";

/** A table whose foreign key references a given table. */
export interface Child {
  rules: TableRules;
  fk: ForeignKey;
  /** Keys of the child's visible rows referencing given parent values. */
  lookup: SqliteStatement;
}

export class TableRules {
  readonly children: Child[] = [];
  readonly patches: SqliteStatement;
  readonly row: SqliteStatement;
  readonly check: ((values: SqlValue[]) => SqlValue[]) | undefined;
  private defaultsStmt: SqliteStatement | undefined;
  private readonly defaultSql: string;
  readonly holders: SqliteStatement[];
  readonly parents: (SqliteStatement | undefined)[];
  readonly keyNames: string[];
  /** SQLite enforces this table's constraints on an upsert exactly as the rule would (see Visibility.fast). */
  readonly plainUpsert: boolean;
  /** Longest chain of foreign keys above this table: parents are replayed before children. */
  depth = 0;
  /** Per origin, the first sequence among a row's patches. */
  readonly firstSeqs: SqliteStatement;

  constructor(
    driver: SqliteDriver,
    readonly t: ReplicatedTable,
    readonly c: RowConstraints,
  ) {
    const s = t.schema;
    const cols = s.columns.map((x) => quoteId(x.name));
    const pk = s.pkIndexes.map((i) => cols[i]!);
    const pkWhere = pk.map((n) => `${n} = ?`).join(" AND ");
    this.keyNames = s.pkIndexes.map((i) => s.columns[i]!.name);
    const nullsOf = s.inlineNulls ? `p."_nulls"` : "n.cols";
    const joinNulls = s.inlineNulls ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    this.patches = driver.prepare(
      `SELECT ${cols.map((x) => `p.${x}`).join(", ")}, ${nullsOf}, p."_patchedAt", p."_peerId", p."_sequenceId"
       FROM ${quoteId(s.patchesName)} AS p ${joinNulls}
       WHERE ${pk.map((n) => `p.${n} = ?`).join(" AND ")} ORDER BY p."_patchedAt", p."_peerId", p."_sequenceId"`,
    );
    this.row = driver.prepare(`SELECT ${cols.join(", ")} FROM ${quoteId(s.name)} WHERE ${pkWhere}`);
    this.firstSeqs = driver.prepare(`SELECT "_peerId", min("_sequenceId") FROM ${quoteId(s.patchesName)} WHERE ${pkWhere} GROUP BY "_peerId"`);
    this.check = c.checks.length > 0 ? checker(driver, s, c.checks) : undefined;
    this.holders = c.unique.map((u) =>
      driver.prepare(`SELECT ${pk.join(", ")} FROM ${quoteId(s.name)} WHERE ${u.cols.map((i) => `${cols[i]} = ?`).join(" AND ")}`),
    );
    this.parents = c.foreignKeys.map((fk) => {
      try {
        return driver.prepare(`SELECT 1 FROM ${quoteId(fk.parent)} WHERE ${fk.to.map((n) => `${quoteId(n)} = ?`).join(" AND ")} LIMIT 1`);
      } catch {
        return undefined; // the parent table does not exist (yet): no parent is ever there
      }
    });
    // An ON CONFLICT clause of a constraint (REPLACE, IGNORE, ...) would resolve a conflict itself;
    // a deferred foreign key is checked only at COMMIT.
    this.plainUpsert = !/\bON\s+CONFLICT\b|\bDEFERRED\b/i.test(String(driver.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).get([s.name])?.[0] ?? ""));
    this.defaultSql = `SELECT ${c.defaults.map((d) => (d === null ? "NULL" : `(${d})`)).join(", ")}`;
  }

  /** The DEFAULT of every column (NULL where there is none), evaluated now, as SQLite would. */
  defaults(driver: SqliteDriver): SqlValue[] {
    this.defaultsStmt ??= driver.prepare(this.defaultSql);
    return this.defaultsStmt.get([])!;
  }

  get name(): string {
    return this.t.name;
  }
}

/**
 * Evaluates a table's CHECKs over a candidate: on a row of a temporary table with the same
 * declared column types, so the values are converted by column affinity first, as SQLite does
 * before it checks; or, where temporary tables are refused, over the values as they are.
 */
function checker(driver: SqliteDriver, s: TableSchema, checks: readonly string[]): (values: SqlValue[]) => SqlValue[] {
  const temp = quoteId(`${INTERNAL_PREFIX}check_${s.name}`);
  try {
    driver.exec(`DROP TABLE IF EXISTS temp.${temp}`);
    driver.exec(`CREATE TEMP TABLE ${temp} (${s.columns.map((c) => `${quoteId(c.name)} ${c.type}`).join(", ")})`);
    const insert = driver.prepare(`INSERT INTO temp.${temp} VALUES (${s.columns.map(() => "?").join(", ")})`);
    const tests = checks.map((x) => `coalesce(CAST((${x}) AS REAL) <> 0, 1)`).join(", ");
    const select = driver.prepare(`SELECT ${tests} FROM temp.${temp} AS ${quoteId(s.name)}`);
    const clear = driver.prepare(`DELETE FROM temp.${temp}`);
    return (values) => {
      insert.run(values);
      try {
        return select.get([])!;
      } finally {
        clear.run([]);
      }
    };
  } catch {
    const stmt = driver.prepare(checkSql(s, checks));
    return (values) => stmt.get(values)!;
  }
}
