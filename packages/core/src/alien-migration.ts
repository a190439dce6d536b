/**
 * What a migration step does with alien data (alien-patch.ts):
 * - before a step that drops a replicated column or table, the values `T_patches` holds for it
 *   are kept whole in the alien store, so a rollback loses nothing (`keepDropped`);
 * - after every step, kept patches whose columns or table became known are written into
 *   `T_patches` and merged into `T` through the late-patch probe, which yields exactly the merge
 *   rule's result had the column always existed (`replayAliens`).
 */
import { alienFromLocal, decodeAlien, type AlienPatch } from "./alien-patch.js";
import { unknownColumns } from "./alien-mapping.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Catalog } from "./catalog.js";
import type { SqliteDriver } from "./driver.js";
import type { DroppedValues } from "./dropped-values.js";
import type { Logger } from "./options.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import { discoverTables } from "./schema.js";
import type { TxBracket } from "./transaction.js";
import type { WirePatch } from "./wire/types.js";
import { mapOne } from "./patch-mapping.js";

export interface AlienMigrationRooms {
  driver: SqliteDriver;
  tx: TxBracket;
  catalog: Catalog;
  alien: AlienStore;
  dropped: DroppedValues;
  book: Bookkeeping;
  logger?: Logger | undefined;
}

const PROBE = Symbol("probe");
const MAY_DROP = /\b(drop|alter)\b/i;

/**
 * Runs `sql` under a savepoint only to see which replicated columns and tables it drops, rolls
 * it back, and keeps every stored patch that sets one of them (unless it is kept whole already).
 */
export function keepDropped(r: AlienMigrationRooms, sql: string): void {
  // Only DROP or ALTER can remove a table or column: other steps are not run twice.
  if (!MAY_DROP.test(sql)) return;
  let after: Map<string, Set<string>> | undefined;
  try {
    r.tx.savepoint(
      () => {
        r.driver.exec(sql);
        try {
          after = new Map(discoverTables(r.driver).map((s) => [s.name, new Set(s.columns.map((c) => c.name))]));
        } catch {
          after = undefined; // the step breaks the table contract: it will fail for real below
        }
        throw PROBE;
      },
      () => {},
    );
  } catch (err) {
    if (err !== PROBE) throw err;
  }
  if (!after) return;
  for (const t of r.catalog.tables.values()) {
    const still = after.get(t.name);
    const dropped = new Set<number>();
    t.columnNames.forEach((c, i) => {
      if (!still || !still.has(c)) dropped.add(i);
    });
    if (dropped.size === 0) continue;
    // Values whose patches were collected live only in T: keep them from T itself.
    if (r.book.gcHorizon > 0) r.dropped.keep(t, [...dropped]);
    for (const p of t.log.readAll(t)) {
      const lost = p.cols.filter((c) => dropped.has(c));
      if (lost.length === 0 || r.alien.stampOf(p.peerId, p.seq) !== undefined) continue;
      r.alien.keep(alienFromLocal(p), still ? lost.map((c) => t.columnNames[c]!) : p.cols.map((c) => t.columnNames[c]!));
    }
  }
}

/** Merges what a step made known; returns the kept patches it merged. */
export function replayAliens(r: AlienMigrationRooms): LocalPatch[] {
  r.dropped.restore(r.catalog); // stands for collected patches: before the kept ones merge
  const merges: LocalPatch[] = [];
  for (const row of r.alien.rows()) {
    const table = r.catalog.tables.get(row.table);
    const a = decodeAlien(row.bytes);
    const nowAlien = unknownColumns(a, table?.schema.columnIndex);
    const newly = table ? row.alienColumns.filter((c) => table.schema.columnIndex.has(c)) : [];
    if (!table || newly.length === 0) {
      if (!sameNames(nowAlien, row.alienColumns)) r.alien.update(row.peerId, row.seq, nowAlien);
      continue;
    }
    let full: LocalPatch;
    try {
      full = knownPart(table, a);
    } catch (err) {
      // A value that does not fit the column as declared here: it stays kept, unmerged.
      r.logger?.warn(`replic: kept patch ${a.peerId}.${a.seq} does not fit "${table.name}" as migrated`, err);
      continue;
    }
    // All stored patches first, then the merges: each probe must see every later patch's columns.
    if (table.log.stampOf(a.peerId, a.seq) !== undefined) table.log.unstore(full);
    table.log.store(full, false);
    r.alien.update(row.peerId, row.seq, nowAlien);
    merges.push(only(table, full, new Set(newly.map((c) => table.schema.columnIndex.get(c)!))));
  }
  for (const p of merges) p.table.rows.merge(p, false);
  return merges;
}

/** The columns of `a` known in `table`, mapped and checked like a received patch. */
function knownPart(table: ReplicatedTable, a: AlienPatch): LocalPatch {
  const index = a.columns.map((c) => table.schema.columnIndex.get(c)) as number[];
  const columns: number[] = [];
  const values = [];
  for (let i = 0; i < a.columns.length; i++) {
    if (index[i] === undefined) continue;
    columns.push(i);
    values.push(a.values[i]!);
  }
  const wp: WirePatch = { table: 0, peerId: a.peerId, seq: a.seq, patchedAt: a.patchedAt, columns, values };
  return mapOne(table, wp, index);
}

/** The primary key and the newly known columns of `p`: what the replay merges. */
function only(table: ReplicatedTable, p: LocalPatch, newly: Set<number>): LocalPatch {
  const cols: number[] = [];
  const values = [];
  for (let i = 0; i < p.cols.length; i++) {
    const c = p.cols[i]!;
    if (newly.has(c) || table.schema.columns[c]!.pk > 0) {
      cols.push(c);
      values.push(p.values[i]!);
    }
  }
  return { ...p, cols: table.columnSet(cols), values };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
