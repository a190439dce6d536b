/**
 * Maps a decoded patches message onto the local schema: table and column names from the wire
 * are looked up in the catalog (never spliced into SQL), column indexes are translated and
 * sorted, and every value is checked against its column's declared type. Any mismatch rejects
 * the whole message before anything is written.
 */
import type { Catalog } from "./catalog.js";
import type { SqlValue } from "./driver.js";
import { ValidationError } from "./errors.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import type { TableSchema } from "./schema.js";
import { checkValue } from "./values.js";
import type { PatchesMessage, WirePatch, WireTable } from "./wire/types.js";

export function mapPatches(catalog: Catalog, msg: PatchesMessage): LocalPatch[] {
  const maps = msg.tables.map((t: WireTable) => {
    const table = catalog.tables.get(t.name);
    if (!table) {
      throw new ValidationError("UNKNOWN_TABLE", `message names table "${t.name}", which this replica does not replicate`, { table: t.name });
    }
    const index = t.columns.map((c) => {
      const ci = table.schema.columnIndex.get(c);
      if (ci === undefined) {
        throw new ValidationError("UNKNOWN_COLUMN", `message names column "${t.name}"."${c}", unknown here`, { table: t.name, column: c });
      }
      return ci;
    });
    return { table, index };
  });
  let lastColumns: number[] | undefined;
  let lastTable = -1;
  let mapped: { cols: number[]; order: number[] | undefined } | undefined;
  const out: LocalPatch[] = new Array(msg.patches.length);
  for (let k = 0; k < msg.patches.length; k++) {
    const wp: WirePatch = msg.patches[k]!;
    const { table, index } = maps[wp.table]!;
    const schema = table.schema;
    if (wp.columns !== lastColumns || wp.table !== lastTable) {
      mapped = mapColumns(table, wp, index);
      lastColumns = wp.columns;
      lastTable = wp.table;
    }
    const { cols, order } = mapped!;
    // Checked in place unless the sender's column order differs from ours.
    const values: SqlValue[] = order ? new Array(cols.length) : wp.values;
    for (let i = 0; i < cols.length; i++) {
      const v = wp.values[order ? order[i]! : i]!;
      values[i] = checkValue(schema, schema.columns[cols[i]!]!, v);
    }
    out[k] = { table, peerId: wp.peerId, seq: wp.seq, patchedAt: wp.patchedAt, cols, values };
  }
  return out;
}

/** Wire column indexes → sorted local indexes (plus the permutation when the order differs). */
function mapColumns(table: ReplicatedTable, wp: WirePatch, index: number[]): { cols: number[]; order: number[] | undefined } {
  const schema: TableSchema = table.schema;
  let cols = wp.columns.map((c) => index[c]!);
  let order: number[] | undefined;
  for (let i = 1; i < cols.length; i++) {
    if (cols[i]! < cols[i - 1]!) {
      order = cols.map((_, k) => k).sort((a, b) => cols[a]! - cols[b]!);
      cols = order.map((k) => cols[k]!);
      break;
    }
  }
  for (const pk of schema.pkIndexes) {
    if (!cols.includes(pk)) {
      const column = schema.columns[pk]!.name;
      throw new ValidationError("MISSING_PRIMARY_KEY", `patch ${wp.peerId}.${wp.seq} lacks primary-key column "${column}"`, {
        table: schema.name,
        column,
      });
    }
  }
  return { cols: table.columnSet(cols), order };
}
