/**
 * An alien patch: one that sets columns this replica does not have, or targets a table it does
 * not replicate (a peer on another schema version). It is kept whole, as received, so it can be
 * relayed and served unchanged and merged once a migration makes its columns known. Its known
 * part, if any, is an ordinary `LocalPatch` merged at once.
 */
import type { SqlValue } from "./driver.js";
import type { LocalPatch } from "./replicated-table.js";
import { decodeWire } from "./wire/decoder.js";
import { PatchesEncoder } from "./wire/encoder.js";
import type { WireGroup } from "./wire/types.js";

export interface AlienPatch {
  peerId: number;
  seq: number;
  patchedAt: number;
  table: string;
  /** Names of the columns the patch sets (primary key included), in the sender's order. */
  columns: string[];
  values: SqlValue[];
  /** The part this replica knows, merged like any patch; undefined when the table is unknown here. */
  local: LocalPatch | undefined;
  /** The group (transaction) it belongs to when that has two or more patches. */
  group?: WireGroup;
}

/** The patch as a one-patch message (the form it is stored in). */
export function encodeAlien(a: AlienPatch): Uint8Array {
  const e = new PatchesEncoder(64);
  e.addTable(a.table, a.columns);
  e.add(0, a.peerId, a.seq, a.patchedAt, indexes(a.columns.length), a.values);
  return e.finish(a.group ? [a.group] : undefined);
}

/** Reads back a stored alien patch (its bytes were checked when received). */
export function decodeAlien(bytes: Uint8Array): AlienPatch {
  const msg = decodeWire(bytes, STORED_LIMITS);
  if (msg.kind !== "patches" || msg.patches.length !== 1) throw new Error("stored alien patch is not a one-patch message");
  const p = msg.patches[0]!;
  const t = msg.tables[p.table]!;
  return { peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, table: t.name, columns: p.columns.map((c) => t.columns[c]!), values: p.values, local: undefined, group: p.group };
}

/** Limits for reading back a one-patch message this replica stored itself (checked when received). */
export const STORED_LIMITS = { maxMessageBytes: Number.MAX_SAFE_INTEGER, maxPatches: 1, maxGroupPatches: Number.MAX_SAFE_INTEGER };

/** A local patch in alien form (to keep what a migration is about to drop). */
export function alienFromLocal(p: LocalPatch): AlienPatch {
  const names = p.table.columnNames;
  return { peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, table: p.table.name, columns: p.cols.map((c) => names[c]!), values: p.values, local: undefined };
}

const indexCache: number[][] = [];
/** [0, 1, …, n-1], shared. */
export function indexes(n: number): number[] {
  let a = indexCache[n];
  if (!a) indexCache[n] = a = Array.from({ length: n }, (_, i) => i);
  return a;
}
