/**
 * Local divergence detection: each heartbeat round checks a bounded slice of keys against the
 * merge of their patches (row-recompute.ts), walking every replicated table in primary-key order
 * and wrapping around, so a table of any size is covered in turn at a fixed cost per round.
 *
 * This catches what changed `T` without going through replic: direct SQL on a table not captured
 * (or on another connection), a restored file whose `T` and `T_patches` disagree, a flipped byte
 * in a stored value of `T`. It does not catch a tampered patch row: `T` merged from it agrees
 * with it. Comparing replicas with each other (docs/trust.md) is what finds that.
 *
 * A difference raises a `divergence` event per table and kind, counts in the metrics and shows in
 * `status().divergent` until the row agrees again (rows already reported are checked again first
 * in the next rounds, within the same budget). With `repair: "rebuild"` the rows found are rebuilt
 * from their patches at once, in one transaction per table and round.
 */
import type { Catalog } from "./catalog.js";
import type { SqlValue } from "./driver.js";
import type { Events } from "./events.js";
import type { Metrics } from "./metrics.js";
import type { Logger } from "./options.js";
import { keyText } from "./parked-rows.js";
import type { Rebuilder } from "./rebuild.js";
import type { ReplicatedTable } from "./replicated-table.js";
import type { DivergenceKind, RowDifference } from "./row-recompute.js";

/** Most divergent rows remembered per table for status() and re-checks; more are counted, not kept. */
export const MAX_TRACKED_DIVERGENT = 10_000;

/** Rows that differ from their patches, per table, as status() shows them. */
export interface DivergentCount {
  table: string;
  /** Rows known to differ now (found by the scrub and not repaired since). */
  rows: number;
}

export interface ScrubRooms {
  catalog: Catalog;
  rebuilder: Rebuilder;
  events: Events;
  metrics: Metrics;
  logger: Logger | undefined;
  /** Keys checked per round (0: no scrub). */
  rowsPerRound: number;
  /** "rebuild": repair what is found at once. */
  repair: "report" | "rebuild";
}

type Walk = "shown" | "patched";

export class Scrubber {
  /** Where the walk is: a table, which of its two walks, and the last key looked at. */
  private table: string | undefined;
  private walk: Walk = "shown";
  private after: SqlValue[] | undefined;
  /** Rows found divergent and not repaired, per table (key text → key). */
  private readonly divergent = new Map<string, Map<string, SqlValue[]>>();
  /** Divergent rows beyond MAX_TRACKED_DIVERGENT per table (counted, not kept). */
  private readonly overflow = new Map<string, number>();
  /** The catalog's tables when last walked (a migration replaces them). */
  private catalogSeen: Map<string, ReplicatedTable> | undefined;

  constructor(private readonly r: ScrubRooms) {}

  /** One round's slice: re-checks of rows already reported, then the walk, within `rowsPerRound` keys. */
  round(): void {
    let budget = this.r.rowsPerRound;
    if (budget <= 0) return;
    const tables = this.r.catalog.tables;
    if (tables !== this.catalogSeen) {
      // A migration reloaded the catalog: keys kept may not fit the tables any more; start over.
      this.catalogSeen = tables;
      this.table = undefined;
      this.divergent.clear();
      this.overflow.clear();
    }
    if (tables.size === 0) return;
    budget -= this.recheck(budget);
    // Each (table, walk) is visited at most once a round, so empty tables cost a query each at most.
    for (let hops = 0; budget > 0 && hops <= 2 * tables.size; hops++) {
      const t = this.table === undefined ? undefined : tables.get(this.table);
      if (!t) {
        this.moveTo([...tables.keys()].sort()[0]!, "shown");
        continue;
      }
      const check = this.r.rebuilder.recompute(t);
      const page = this.walk === "shown" ? check.shownPage(this.after, budget) : check.patchedPage(this.after, budget);
      budget -= page.keys;
      this.metricsAdd(page.keys);
      if (page.differences.length > 0) this.found(t, page.differences);
      if (page.last !== undefined && page.keys > 0 && budget <= 0) {
        this.after = page.last;
        break;
      }
      // This walk of the table is done: the next one (the table's second walk, or the next table).
      this.next(tables);
    }
    this.updateGauge();
  }

  /** Rows known to differ now, per table. */
  counts(): DivergentCount[] {
    const out: DivergentCount[] = [];
    for (const [table, keys] of [...this.divergent].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const rows = keys.size + (this.overflow.get(table) ?? 0);
      if (rows > 0) out.push({ table, rows });
    }
    return out;
  }

  /** A rebuild brought these rows (or, with no keys, the whole table; with no table, every table) in line. */
  forget(table?: string, keys?: readonly SqlValue[][]): void {
    if (table === undefined) {
      this.divergent.clear();
      this.overflow.clear();
    } else if (keys === undefined) {
      this.divergent.delete(table);
      this.overflow.delete(table);
    } else {
      const m = this.divergent.get(table);
      if (m) for (const k of keys) m.delete(keyText(k));
    }
    this.updateGauge();
  }

  private found(t: ReplicatedTable, all: RowDifference[]): void {
    // Rows reported before are not reported again while they stay divergent (status() keeps them).
    const known = this.divergent.get(t.name);
    const diffs = known ? all.filter((d) => !known.has(keyText(d.key))) : all;
    if (diffs.length === 0) return;
    // A failed repair throws out of the round (as any failed statement of a round does); the rows are found again next time.
    if (this.r.repair === "rebuild") {
      this.r.rebuilder.rebuildKeys(
        t,
        diffs.map((d) => d.key),
      );
    }
    const repaired = this.r.repair === "rebuild";
    this.r.metrics.inc("divergent_rows_found_total", diffs.length, { table: t.name });
    const check = this.r.rebuilder.recompute(t);
    const byKind = new Map<DivergenceKind, SqlValue[][]>();
    for (const d of diffs) {
      let list = byKind.get(d.kind);
      if (!list) byKind.set(d.kind, (list = []));
      list.push(d.key);
    }
    for (const [kind, keys] of byKind) {
      if (repaired) this.forget(t.name, keys);
      else this.track(t.name, keys);
      this.r.logger?.warn(`replic: ${keys.length} row(s) of "${t.name}" differ from their patches (${kind})${repaired ? "; rebuilt" : ""}`);
      if (!this.r.events.has("divergence")) continue;
      this.r.events.emit("divergence", {
        table: t.name,
        kind,
        keys: keys.map((k) => check.keyObject(k)),
        range: { from: check.keyObject(keys[0]!), to: check.keyObject(keys[keys.length - 1]!) },
        repaired,
      });
    }
  }

  /** Re-checks rows reported before (at most `budget`); those that agree now are forgotten. Returns the keys checked. */
  private recheck(budget: number): number {
    let used = 0;
    for (const [table, m] of this.divergent) {
      if (used >= budget) break;
      const t = this.r.catalog.tables.get(table);
      if (!t) {
        this.divergent.delete(table);
        this.overflow.delete(table);
        continue;
      }
      const keys = [...m.values()].slice(0, budget - used);
      used += keys.length;
      const still = new Set(this.r.rebuilder.recompute(t).check(keys).map((d) => keyText(d.key)));
      for (const k of keys) {
        const text = keyText(k);
        if (!still.has(text)) m.delete(text);
      }
      if (m.size === 0 && (this.overflow.get(table) ?? 0) === 0) this.divergent.delete(table);
    }
    this.metricsAdd(used);
    return used;
  }

  private track(table: string, keys: SqlValue[][]): void {
    let m = this.divergent.get(table);
    if (!m) this.divergent.set(table, (m = new Map()));
    for (const k of keys) {
      const text = keyText(k);
      if (m.has(text)) continue;
      if (m.size < MAX_TRACKED_DIVERGENT) m.set(text, k);
      else this.overflow.set(table, (this.overflow.get(table) ?? 0) + 1);
    }
  }

  private next(tables: Map<string, ReplicatedTable>): void {
    if (this.walk === "shown") {
      this.walk = "patched";
      this.after = undefined;
      return;
    }
    const names = [...tables.keys()].sort();
    const i = this.table === undefined ? -1 : names.findIndex((n) => n > this.table!);
    // Past the last table: wrap around to the first.
    this.moveTo(i < 0 ? names[0]! : names[i]!, "shown");
  }

  private moveTo(table: string, walk: Walk): void {
    this.table = table;
    this.walk = walk;
    this.after = undefined;
  }

  private metricsAdd(n: number): void {
    if (n > 0) this.r.metrics.inc("scrubbed_rows_total", n);
  }

  private updateGauge(): void {
    this.r.metrics.clear("divergent_rows");
    for (const c of this.counts()) this.r.metrics.set("divergent_rows", c.rows, { table: c.table });
  }
}
