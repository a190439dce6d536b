/**
 * Maps a decoded patches message onto the local schema: table and column names from the wire
 * are looked up in the catalog (never spliced into SQL), column indexes are translated and
 * sorted, and every value is checked against its column's declared type. A bad value rejects
 * the whole message before anything is written. A message naming a table or column unknown
 * here (a peer on another schema version) takes the slower path of alien-mapping.ts; the usual
 * message, all names known, costs one lookup per table and column name, never per patch.
 */
import { mapWithAliens } from "./alien-mapping.js";
import type { Catalog } from "./catalog.js";
import type { SqlValue } from "./driver.js";
import { mapColumns, type MappedPatches, type TableMap } from "./patch-mapping.js";
import type { LocalPatch } from "./replicated-table.js";
import { checkValue } from "./values.js";
import type { PatchesMessage, WirePatch, WireTable } from "./wire/types.js";

export function mapPatches(catalog: Catalog, msg: PatchesMessage): MappedPatches {
  let allKnown = true;
  const maps: TableMap[] = msg.tables.map((t: WireTable) => {
    const table = catalog.tables.get(t.name);
    const index = t.columns.map((c) => table?.schema.columnIndex.get(c));
    const known = table !== undefined && !index.includes(undefined);
    if (!known) allKnown = false;
    return { name: t.name, table, index, known };
  });
  if (!allKnown) return mapWithAliens(msg, maps);
  let lastColumns: number[] | undefined;
  let lastTable = -1;
  let mapped: { cols: number[]; order: number[] | undefined } | undefined;
  const out: LocalPatch[] = new Array(msg.patches.length);
  for (let k = 0; k < msg.patches.length; k++) {
    const wp: WirePatch = msg.patches[k]!;
    const { table: t, index: ix } = maps[wp.table]!;
    const table = t!;
    const index = ix as number[];
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
    out[k] = { table, peerId: wp.peerId, seq: wp.seq, patchedAt: wp.patchedAt, cols, values, group: wp.group };
  }
  return { patches: out, aliens: undefined };
}
