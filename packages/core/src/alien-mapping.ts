/**
 * The slow path of wire-mapping.ts, taken only by a message that names a table or column unknown
 * here: each patch touching something unknown becomes an `AlienPatch` kept whole, and its known
 * columns (primary key included) an ordinary `LocalPatch` merged now. Known values are checked
 * as usual (a bad one rejects the whole message); unknown ones were checked by the decoder.
 */
import type { AlienPatch } from "./alien-patch.js";
import type { LocalPatch } from "./replicated-table.js";
import type { PatchesMessage, WirePatch } from "./wire/types.js";
import { mapOne, type MappedPatches, type TableMap } from "./patch-mapping.js";

export function mapWithAliens(msg: PatchesMessage, maps: TableMap[]): MappedPatches {
  const patches: LocalPatch[] = [];
  const aliens: AlienPatch[] = [];
  for (const wp of msg.patches) {
    const m = maps[wp.table]!;
    const names = msg.tables[wp.table]!.columns;
    const table = m.table;
    const index = m.index as number[];
    if (table && (m.known || wp.columns.every((c) => m.index[c] !== undefined))) {
      patches.push(mapOne(table, wp, index));
      continue;
    }
    let local: LocalPatch | undefined;
    if (table) {
      const columns: number[] = [];
      const values = [];
      for (let i = 0; i < wp.columns.length; i++) {
        if (m.index[wp.columns[i]!] === undefined) continue;
        columns.push(wp.columns[i]!);
        values.push(wp.values[i]!);
      }
      const known: WirePatch = { ...wp, columns, values };
      local = mapOne(table, known, index);
      patches.push(local);
    }
    aliens.push({
      peerId: wp.peerId,
      seq: wp.seq,
      patchedAt: wp.patchedAt,
      table: m.name,
      columns: wp.columns.map((c) => names[c]!),
      values: wp.values,
      local,
      group: wp.group,
    });
  }
  return { patches, aliens };
}

/** Names of the columns of `a` unknown here (all of them when its table is unknown). */
export function unknownColumns(a: AlienPatch, known: ReadonlyMap<string, number> | undefined): string[] {
  if (!known) return a.columns.slice();
  return a.columns.filter((c) => !known.has(c));
}
