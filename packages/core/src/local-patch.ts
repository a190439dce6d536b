/**
 * A patch in engine form: column indexes into the local table, sorted, primary key included.
 * Generic over its table, so the rooms a table is made of (its patch log, its row merger, the
 * explicit-NULL store) read patches without knowing the table's class.
 */
import type { SqlValue } from "./driver.js";
import type { TableSchema } from "./schema.js";
import type { WireGroup } from "./wire/types.js";

export interface PatchOf<T> {
  table: T;
  peerId: number;
  seq: number;
  patchedAt: number;
  cols: number[];
  values: SqlValue[];
  /** The group (transaction) it belongs to when that has two or more patches. */
  group?: WireGroup;
}

/** A patch whose table is known by its schema only (what the log and the merger need). */
export type SchemaPatch = PatchOf<{ readonly schema: TableSchema }>;
