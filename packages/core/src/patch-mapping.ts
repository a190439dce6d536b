/**
 * One wire patch onto a local table: wire column indexes translated and sorted, the primary key
 * required, values checked against their columns. Shared by the fast path (wire-mapping.ts) and
 * the slow one (alien-mapping.ts); the shapes they return are here too.
 */
import type { AlienPatch } from "./alien-patch.js";
import type { SqlValue } from "./driver.js";
import { ValidationError } from "./errors.js";
import type { LocalPatch, ReplicatedTable } from "./replicated-table.js";
import type { TableSchema } from "./schema.js";
import { checkValue } from "./values.js";
import type { WirePatch } from "./wire/types.js";

export interface MappedPatches {
  /** Patches of the local schema (the known part of alien ones included), in message order. */
  patches: LocalPatch[];
  /** Patches naming something unknown here; undefined when there are none. */
  aliens: AlienPatch[] | undefined;
}

/** A wire table's local table and column indexes (undefined where unknown here). */
export interface TableMap {
  name: string;
  table: ReplicatedTable | undefined;
  index: (number | undefined)[];
  known: boolean;
}

/** One wire patch whose columns are all known here, mapped and checked (the slow path's unit). */
export function mapOne(table: ReplicatedTable, wp: WirePatch, index: number[]): LocalPatch {
  const { cols, order } = mapColumns(table, wp, index);
  const schema = table.schema;
  const values: SqlValue[] = new Array(cols.length);
  for (let i = 0; i < cols.length; i++) values[i] = checkValue(schema, schema.columns[cols[i]!]!, wp.values[order ? order[i]! : i]!);
  return { table, peerId: wp.peerId, seq: wp.seq, patchedAt: wp.patchedAt, cols, values, group: wp.group };
}

/** Wire column indexes → sorted local indexes (plus the permutation when the order differs). */
export function mapColumns(table: ReplicatedTable, wp: WirePatch, index: number[]): { cols: number[]; order: number[] | undefined } {
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
