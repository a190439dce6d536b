/**
 * A candidate row: the merge of one key's stored patches, with, per column, the patch its value
 * came from (visibility.ts decides on candidates before they are shown), and the order in which
 * candidates claimed their values.
 */
import type { SqliteDriver, SqlValue } from "./driver.js";
import { NAME_SEPARATOR } from "./null-store.js";
import type { TableRules } from "./table-rules.js";

/** A patch's place in patch order: (_patchedAt, _peerId, _sequenceId). */
export type Stamp = readonly [number, number, number];
export const BEFORE_ALL: Stamp = [0, 0, 0];

export interface Candidate {
  values: SqlValue[];
  /** Per column: the patch whose value it holds (the row's first patch for a column no patch set). */
  stamps: Stamp[];
  /** Columns a patch set (or, once patches were collected, the row as it is in `T`). */
  set: boolean[];
}

/**
 * The merged row of `key` from its stored patches, or undefined when none is stored. Once
 * patches were collected (`horizon` above 0), the row as shown (`old`) is the base they are
 * merged onto.
 */
export function candidateOf(driver: SqliteDriver, r: TableRules, key: SqlValue[], old: SqlValue[] | undefined, horizon: number): Candidate | undefined {
  const rows = r.patches.all(key);
  if (rows.length === 0) return undefined;
  const s = r.t.schema;
  const w = s.columns.length;
  const first: Stamp = [Number(rows[0]![w + 1]), Number(rows[0]![w + 2]), Number(rows[0]![w + 3])];
  const values = new Array<SqlValue>(w).fill(null);
  const stamps = new Array<Stamp>(w).fill(first);
  const set = new Array<boolean>(w).fill(false);
  if (horizon > 0 && old) {
    for (let c = 0; c < w; c++) {
      values[c] = old[c]!;
      set[c] = true;
      stamps[c] = BEFORE_ALL;
    }
  }
  for (const row of rows) {
    const stamp: Stamp = [Number(row[w + 1]), Number(row[w + 2]), Number(row[w + 3])];
    const explicit = row[w] === null ? undefined : String(row[w]).split(NAME_SEPARATOR);
    for (let c = 0; c < w; c++) {
      if (row[c] !== null) {
        values[c] = row[c]!;
      } else if (explicit?.includes(s.columns[c]!.name)) {
        values[c] = null;
      } else continue;
      set[c] = true;
      stamps[c] = stamp;
    }
  }
  // A column no patch set: as shown, or SQLite's DEFAULT for a row not shown yet.
  let defaults: SqlValue[] | undefined;
  for (let c = 0; c < w; c++) {
    if (set[c]) continue;
    if (old) values[c] = old[c]!;
    else if (r.c.defaults[c] !== null) values[c] = (defaults ??= r.defaults(driver))[c]!;
  }
  return { values, stamps, set };
}

/** When a row claimed a unique value: the newest of the patches that set the index's columns. */
export function claimOf(c: Candidate, cols: readonly number[]): Stamp {
  let best = c.stamps[cols[0]!]!;
  for (const i of cols) if (compare(c.stamps[i]!, best) > 0) best = c.stamps[i]!;
  return best;
}

function compare(a: Stamp, b: Stamp): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Patch order, then key text: two different rows never tie. */
export function earlier(a: Stamp, ak: string, b: Stamp, bk: string): boolean {
  const c = compare(a, b);
  return c < 0 || (c === 0 && ak < bk);
}

export function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  // An integer may come back as number or bigint; otherwise storage classes differ (5 is not "5").
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) return a == b;
  return a === b;
}
