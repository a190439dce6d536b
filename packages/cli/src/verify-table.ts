/**
 * `replic verify <db>`, one table: every row compared with the merge of its patches by the core's
 * checker (the same one `replica.rebuild()` and the scrub of heartbeat rounds use), a page of
 * keys at a time in primary-key order, so memory stays flat on large tables.
 */
import { openRowRecompute, type SqliteDriver, type SqlValue } from "@replic/core";

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface TableVerification {
  table: string;
  rows: number;
  patches: number;
  /** Rows whose columns were compared with at least one retained patch. */
  checkedRows: number;
  /** Rows with no retained patch (all collected by retention): nothing to compare against. */
  unverifiableRows: number;
  /** Rows where some column differs from what its patches say, or that are shown although parked. */
  mismatchedRows: number;
  /** Primary keys present in T_patches, not parked, and missing from T. */
  missingRows: number;
  /** Up to five primary keys of mismatched rows, as JSON. */
  examples: string[];
}

export const keyJson = (key: readonly SqlValue[]) =>
  JSON.stringify(key, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? `x'${Buffer.from(v).toString("hex")}'` : v));

export function verifyTable(driver: SqliteDriver, table: string, onRows?: (done: number) => void, pageSize = 5000): TableVerification {
  const check = openRowRecompute(driver, table);
  const result: TableVerification = {
    table,
    rows: Number(driver.prepare(`SELECT count(*) FROM ${q(table)}`).get([])![0]),
    patches: Number(driver.prepare(`SELECT count(*) FROM ${q(`${table}_patches`)}`).get([])![0]),
    checkedRows: 0,
    unverifiableRows: 0,
    mismatchedRows: 0,
    missingRows: 0,
    examples: [],
  };
  let done = 0;
  for (let after: SqlValue[] | undefined; ; ) {
    const page = check.shownPage(after, pageSize);
    result.unverifiableRows += page.unpatched;
    result.checkedRows += page.keys - page.unpatched;
    for (const d of page.differences) {
      result.mismatchedRows++;
      if (result.examples.length < 5) result.examples.push(keyJson(d.key));
    }
    done += page.keys;
    onRows?.(done);
    if (page.keys < pageSize) break;
    after = page.last;
  }
  for (let after: SqlValue[] | undefined; ; ) {
    const page = check.patchedPage(after, pageSize);
    result.missingRows += page.differences.length;
    if (page.keys < pageSize) break;
    after = page.last;
  }
  return result;
}
