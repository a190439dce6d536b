/**
 * `rebuild(table?)`: `T` recomputed from the patch log by the merge rule (a pure function of the
 * patches), for rows that differ from it (row-recompute.ts finds them). Each table is walked in
 * primary-key order, a bounded page of keys per transaction: the rows of `T` first (values that
 * differ, rows shown while parked), then the keys of `T_patches` (rows missing from `T`). A row of
 * an unconstrained table gets the values its patches set; a row of a table with constraints goes
 * through visibility.ts like a received one, so it is shown when valid and parked otherwise.
 * Columns no retained patch set, and rows no retained patch names, are left as they are.
 */
import type { Catalog } from "./catalog.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { count, noEffects } from "./effects.js";
import { ReplicError } from "./errors.js";
import { keyText } from "./parked-rows.js";
import type { Publisher } from "./publisher.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { RowRecompute, type RecomputePage, type RowDifference } from "./row-recompute.js";
import { quoteId } from "./schema.js";
import type { TxBracket } from "./transaction.js";
import type { ParkChange } from "./visibility.js";
import { sameValue } from "./row-candidate.js";

/** What a rebuild changed in one table. */
export interface RebuildReport {
  table: string;
  /** Rows of `T` written, added or taken out. */
  changed: number;
  /** Rows added to `T` (missing before, or released from parking). */
  inserted: number;
  /** Rows whose values were put back to what their patches say. */
  updated: number;
  /** Rows taken out of `T` (parked: their merged state breaks a constraint of `T`). */
  removed: number;
  /** The keys of the changed rows, as objects of primary-key columns, at most `maxKeys`. */
  keys: Record<string, SqlValue>[];
}

export interface RebuildOptions {
  /** Keys looked at per transaction. Default 500. */
  batchSize?: number;
  /** Most keys listed per table in the report. Default 100. */
  maxKeys?: number;
}

export const DEFAULT_REBUILD_BATCH = 500;
export const DEFAULT_REBUILD_KEYS = 100;

export interface RebuildRooms {
  driver: SqliteDriver;
  catalog: Catalog;
  tx: TxBracket;
  book: Bookkeeping;
  publisher: Publisher;
}

export class Rebuilder {
  /** One checker per table object (a migration makes new ones). */
  private readonly checkers = new WeakMap<ReplicatedTable, { check: RowRecompute; row: SqliteStatement }>();

  constructor(private readonly r: RebuildRooms) {}

  /** The checker of a replicated table (shared with the scrub). */
  recompute(t: ReplicatedTable): RowRecompute {
    return this.entry(t).check;
  }

  /** Rebuilds one table or every replicated table; an unknown table is refused before anything runs. */
  rebuild(table: string | undefined, options: RebuildOptions = {}): RebuildReport[] {
    const { batchSize = DEFAULT_REBUILD_BATCH, maxKeys = DEFAULT_REBUILD_KEYS } = options ?? {};
    for (const [k, v] of [["batchSize", batchSize], ["maxKeys", maxKeys]] as const) {
      if (!Number.isSafeInteger(v) || v < (k === "batchSize" ? 1 : 0)) {
        throw new ReplicError("INVALID_OPTION", `rebuild(): ${k} must be ${k === "batchSize" ? "a positive" : "a non-negative"} integer, got ${String(v)}`);
      }
    }
    const tables = table === undefined ? this.ordered() : [this.r.catalog.get(table)];
    const reports = new Map<string, RebuildReport>();
    for (const t of tables) reports.set(t.name, emptyReport(t.name));
    for (const t of tables) {
      const check = this.recompute(t);
      for (const walk of ["shown", "patched"] as const) {
        let after: SqlValue[] | undefined;
        for (;;) {
          let page!: RecomputePage;
          this.repair(t, () => {
            page = walk === "shown" ? check.shownPage(after, batchSize) : check.patchedPage(after, batchSize);
            return page.differences;
          }, reports, maxKeys);
          if (page.keys < batchSize || page.last === undefined) break;
          after = page.last;
        }
      }
    }
    return [...reports.values()];
  }

  /** Rebuilds the rows of these keys of one table (the scrub's repair), in one transaction. */
  rebuildKeys(t: ReplicatedTable, keys: readonly SqlValue[][], maxKeys = DEFAULT_REBUILD_KEYS): RebuildReport {
    const reports = new Map([[t.name, emptyReport(t.name)]]);
    this.repair(t, () => this.recompute(t).check(keys), reports, maxKeys);
    return reports.get(t.name)!;
  }

  /**
   * One transaction: `find` the rows that differ, write each from its patches, settle the rows of
   * tables with constraints; then, after COMMIT, count and announce what changed.
   */
  private repair(t: ReplicatedTable, find: () => RowDifference[], reports: Map<string, RebuildReport>, maxKeys: number): void {
    const { tx, book, catalog } = this.r;
    const v = catalog.visibility;
    let changes: ParkChange[] = [];
    const touched: Touched[] = [];
    tx.run(
      () => {
        // Another replica opened this database since: it writes, this one does not.
        book.fence();
        const { row } = this.entry(t);
        for (const d of find()) {
          const before = row.get(d.key);
          touched.push({ t, key: d.key, shown: before !== undefined, before, after: undefined });
          // A parked row found in T: its values there are no base for its candidate (visibility.ts merges onto the row shown).
          if (d.kind === "shown-parked") t.rows.deleteRow(d.key);
          t.rows.rebuild(d.key, false);
        }
        v.settle();
        changes = v.take();
        // Rows a settle parked or released in passing (children of a parent that moved, unique rivals).
        const seen = new Set(touched.map((x) => `${x.t.name}\u0000${keyText(x.key)}`));
        for (const c of changes) {
          const ct = catalog.tables.get(c.table);
          if (!ct) continue;
          const key = ct.schema.pkIndexes.map((i) => c.key[ct.schema.columns[i]!.name] ?? null);
          const id = `${c.table}\u0000${keyText(key)}`;
          if (seen.has(id)) continue;
          seen.add(id);
          // Parked now: it was shown before this commit; released: it was not.
          touched.push({ t: ct, key, shown: !c.released, before: undefined, after: undefined });
        }
        for (const x of touched) x.after = this.entry(x.t).row.get(x.key);
      },
      () => {
        t.discard();
        v.discard();
      },
    );
    const keys: Record<string, SqlValue[][]> = Object.create(null);
    for (const x of touched) {
      const after = x.after;
      const rep = reports.get(x.t.name) ?? reports.set(x.t.name, emptyReport(x.t.name)).get(x.t.name)!;
      if (!x.shown && after !== undefined) rep.inserted++;
      else if (x.shown && after === undefined) rep.removed++;
      else if (x.before !== undefined && after !== undefined && !sameRow(x.before, after)) rep.updated++;
      else continue;
      rep.changed++;
      if (rep.keys.length < maxKeys) rep.keys.push(this.recompute(x.t).keyObject(x.key));
      (keys[x.t.name] ??= []).push(x.key);
    }
    this.publish(changes, keys);
  }

  /**
   * After COMMIT, through the one publish step (publisher.ts): counters, `parked` events, and a
   * `merge` event naming the rows rewritten, with no patches (watch re-runs on it).
   */
  private publish(changes: ParkChange[], keys: Record<string, SqlValue[][]>): void {
    const e = noEffects(false, undefined);
    e.rows = changes;
    for (const c of changes) count(e, c.released ? "rows_released_total" : "rows_parked_total");
    let n = 0;
    for (const k in keys) n += keys[k]!.length;
    count(e, "rows_rebuilt_total", n);
    if (n > 0) e.keys = keys;
    this.r.publisher.publish(e, this.r.book.seq);
  }

  /** Tables in an order where parents come before the tables referencing them. */
  private ordered(): ReplicatedTable[] {
    const v = this.r.catalog.visibility;
    return [...this.r.catalog.tables.values()].sort((a, b) => (v.rulesOf(a.name)?.depth ?? 0) - (v.rulesOf(b.name)?.depth ?? 0));
  }

  private entry(t: ReplicatedTable): { check: RowRecompute; row: SqliteStatement } {
    let e = this.checkers.get(t);
    if (!e) {
      const s = t.schema;
      const cols = s.columns.map((c) => quoteId(c.name));
      const row = this.r.driver.prepare(`SELECT ${cols.join(", ")} FROM ${quoteId(s.name)} WHERE ${s.pkIndexes.map((i) => `${cols[i]} = ?`).join(" AND ")}`);
      this.checkers.set(t, (e = { check: new RowRecompute(this.r.driver, s), row }));
    }
    return e;
  }
}

/** A row a repair looked at: shown before it, and as it is after it. */
interface Touched {
  t: ReplicatedTable;
  key: SqlValue[];
  shown: boolean;
  /** Its values before (known for the rows the repair wrote, not for those a settle moved in passing). */
  before: SqlValue[] | undefined;
  after: SqlValue[] | undefined;
}

function emptyReport(table: string): RebuildReport {
  return { table, changed: 0, inserted: 0, updated: 0, removed: 0, keys: [] };
}

function sameRow(a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i]!, b[i]!)) return false;
  return true;
}
