/**
 * Recomputes every row of a replicated table from its patches by the merge rule, in SQL,
 * independently of the engine: per column, the value of the highest (_patchedAt, _peerId,
 * _sequenceId) patch that set it (a non-NULL value, or the column named in its explicit-NULL
 * list). Rows are checked in primary-key pages so memory stays flat on large tables.
 */
import type { SqliteDriver, SqlValue } from "@replic/core";

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

export interface TableVerification {
  table: string;
  rows: number;
  patches: number;
  /** Rows whose columns were compared with at least one retained patch. */
  checkedRows: number;
  /** Rows with no retained patch (all collected by retention): nothing to compare against. */
  unverifiableRows: number;
  /** Rows where some column differs from what its patches say. */
  mismatchedRows: number;
  /** Primary keys present in T_patches but missing from T. */
  missingRows: number;
  /** Up to five primary keys of mismatched rows, as JSON. */
  examples: string[];
}

export function verifyTable(driver: SqliteDriver, table: string, onRows?: (done: number) => void, pageSize = 5000): TableVerification {
  const patchesName = `${table}_patches`;
  const info = driver.prepare(`SELECT name, pk FROM pragma_table_info(${lit(table)}) ORDER BY cid`).all([]);
  const pk = info.filter((r) => Number(r[1]) > 0).sort((a, b) => Number(a[1]) - Number(b[1])).map((r) => String(r[0]));
  const cols = info.filter((r) => Number(r[1]) === 0).map((r) => String(r[0]));
  const inline = driver.prepare(`SELECT 1 FROM pragma_table_info(${lit(patchesName)}) WHERE name = '_nulls'`).get([]) !== undefined;
  const nullsOf = inline ? `p."_nulls"` : "n.cols";
  const join = inline ? "" : `LEFT JOIN "_replic_nulls" n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
  const P = q(patchesName);
  const T = q(table);
  const samePk = pk.map((c) => `p.${q(c)} = t.${q(c)}`).join(" AND ");
  const sets = (c: string) => `(p.${q(c)} IS NOT NULL OR instr(char(31) || coalesce(${nullsOf}, '') || char(31), char(31) || ${lit(c)} || char(31)) > 0)`;
  const colChecks = cols.map((c) => {
    const winner = `(SELECT p.${q(c)} FROM ${P} p ${join} WHERE ${samePk} AND ${sets(c)} ORDER BY p."_patchedAt" DESC, p."_peerId" DESC, p."_sequenceId" DESC LIMIT 1)`;
    const has = `EXISTS (SELECT 1 FROM ${P} p ${join} WHERE ${samePk} AND ${sets(c)})`;
    return `(CASE WHEN ${has} THEN ${winner} IS NOT t.${q(c)} ELSE 0 END)`;
  });
  const pkList = pk.map((c) => `t.${q(c)}`).join(", ");
  const select = `SELECT ${pkList}, EXISTS (SELECT 1 FROM ${P} p WHERE ${samePk}) AS has, ${colChecks.length ? colChecks.join(" OR ") : "0"} AS bad FROM ${T} t`;
  const order = ` ORDER BY ${pkList} LIMIT ${pageSize}`;
  const first = driver.prepare(select + order);
  const next = driver.prepare(`${select} WHERE (${pkList}) > (${pk.map(() => "?").join(", ")})${order}`);

  const result: TableVerification = {
    table,
    rows: Number(driver.prepare(`SELECT count(*) FROM ${T}`).get([])![0]),
    patches: Number(driver.prepare(`SELECT count(*) FROM ${P}`).get([])![0]),
    checkedRows: 0,
    unverifiableRows: 0,
    mismatchedRows: 0,
    missingRows: 0,
    examples: [],
  };
  let last: SqlValue[] | undefined;
  let done = 0;
  for (;;) {
    const page = last === undefined ? first.all([]) : next.all(last);
    for (const row of page) {
      if (Number(row[pk.length]) === 0) result.unverifiableRows++;
      else result.checkedRows++;
      if (Number(row[pk.length + 1]) !== 0) {
        result.mismatchedRows++;
        if (result.examples.length < 5) result.examples.push(JSON.stringify(row.slice(0, pk.length), (_k, v) => (typeof v === "bigint" ? String(v) : v)));
      }
    }
    done += page.length;
    onRows?.(done);
    if (page.length < pageSize) break;
    last = page[page.length - 1]!.slice(0, pk.length);
  }
  const pkPlain = pk.map(q).join(", ");
  // A parked row (it breaks a constraint of T, so it is not shown yet) is not missing.
  const hasParked = driver.prepare(`SELECT 1 FROM sqlite_schema WHERE name = '_replic_parked'`).get([]) !== undefined;
  const notParked = hasParked
    ? ` AND NOT EXISTS (SELECT 1 FROM "_replic_parked" k WHERE k.tbl = ${lit(table)} AND k."key" = json_array(${pk.map((c) => `p.${q(c)}`).join(", ")}))`
    : "";
  result.missingRows = Number(
    driver.prepare(`SELECT count(*) FROM (SELECT DISTINCT ${pkPlain} FROM ${P}) p WHERE NOT EXISTS (SELECT 1 FROM ${T} t WHERE ${samePk})${notParked}`).get([])![0],
  );
  return result;
}
