/**
 * Values of `T` a migration step drops whose patches retention already collected: `T_patches`
 * no longer holds them, so keeping alien patches alone would lose them on a rollback. They are
 * kept here per row (primary key + dropped columns, as a one-patch message) and written back
 * into `T` when a later step makes the columns known again, before the kept patches are merged
 * (those are newer than anything collected, so they win where they set a column). Nothing was
 * ever collected (horizon 0): every value is in `T_patches` and nothing is kept here.
 */
import { decodeAlien, encodeAlien } from "./alien-patch.js";
import type { Catalog } from "./catalog.js";
import type { SqliteDriver } from "./driver.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { quoteId } from "./schema.js";

export const DROPPED_TABLE = "_replic_dropped";

export class DroppedValues {
  constructor(private readonly driver: SqliteDriver) {
    driver.exec(`CREATE TABLE IF NOT EXISTS ${DROPPED_TABLE} (
      tbl TEXT NOT NULL, n INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (tbl, n)) WITHOUT ROWID`);
  }

  /** Keeps the primary key and the `dropped` columns of every row of `t` that sets one of them. */
  keep(t: ReplicatedTable, dropped: number[]): void {
    const pk = t.schema.pkIndexes;
    const cols = [...pk, ...dropped.filter((c) => !pk.includes(c))];
    const names = cols.map((c) => t.columnNames[c]!);
    const anySet = cols.slice(pk.length).map((c) => `${quoteId(t.columnNames[c]!)} IS NOT NULL`);
    if (anySet.length === 0) return;
    const next = this.driver.prepare(`SELECT coalesce(max(n), 0) FROM ${DROPPED_TABLE} WHERE tbl = ?`).get([t.name])!;
    let n = Number(next[0]);
    const insert = this.driver.prepare(`INSERT INTO ${DROPPED_TABLE} (tbl, n, bytes) VALUES (?, ?, ?)`);
    const rows = this.driver.prepare(`SELECT ${names.map(quoteId).join(", ")} FROM ${quoteId(t.name)} WHERE ${anySet.join(" OR ")}`).all([]);
    for (const values of rows) {
      n++;
      insert.run([t.name, n, encodeAlien({ peerId: 0, seq: n, patchedAt: 0, table: t.name, columns: names, values, local: undefined })]);
    }
  }

  /**
   * Writes kept values whose columns are known again back into `T` (straight upserts: they stand
   * for collected patches); what is still unknown stays kept. Runs before kept patches merge.
   */
  restore(catalog: Catalog): void {
    const rows = this.driver.prepare(`SELECT tbl, n, bytes FROM ${DROPPED_TABLE}`).all([]);
    if (rows.length === 0) return;
    const remove = this.driver.prepare(`DELETE FROM ${DROPPED_TABLE} WHERE tbl = ? AND n = ?`);
    const update = this.driver.prepare(`UPDATE ${DROPPED_TABLE} SET bytes = ? WHERE tbl = ? AND n = ?`);
    for (const r of rows) {
      const table = catalog.tables.get(String(r[0]));
      if (!table) continue;
      const a = decodeAlien(r[2] as Uint8Array);
      const index = table.schema.columnIndex;
      if (!table.schema.pkIndexes.every((i) => a.columns.includes(table.columnNames[i]!))) continue;
      const known: number[] = [];
      for (let i = 0; i < a.columns.length; i++) if (index.has(a.columns[i]!)) known.push(i);
      const pkOnly = known.every((i) => table.schema.columns[index.get(a.columns[i]!)!]!.pk > 0);
      if (pkOnly) continue;
      const order = known.sort((x, y) => index.get(a.columns[x]!)! - index.get(a.columns[y]!)!);
      const cols = order.map((i) => index.get(a.columns[i]!)!);
      table.rows.merge({ table, peerId: 0, seq: 0, patchedAt: 0, cols: table.columnSet(cols), values: order.map((i) => a.values[i]!) }, true);
      const rest = a.columns.map((c, i) => i).filter((i) => !index.has(a.columns[i]!) || table.schema.columns[index.get(a.columns[i]!)!]!.pk > 0);
      const unknownLeft = rest.some((i) => !index.has(a.columns[i]!));
      if (!unknownLeft) remove.run([r[0]!, r[1]!]);
      else {
        const columns = rest.map((i) => a.columns[i]!);
        update.run([encodeAlien({ ...a, columns, values: rest.map((i) => a.values[i]!) }), r[0]!, r[1]!]);
      }
    }
  }
}
