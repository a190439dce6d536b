/**
 * The parts of one group a message carries, in the receive transaction (inbound.ts): refused
 * (the whole message) when they disagree with what is known of the group; complete when they,
 * the parts stored before and the sequences held here cover it; otherwise stored to wait for the
 * rest (incomplete-groups.ts), bounded by `maxIncompletePatches`.
 */
import { aliensOf } from "./alien-intake.js";
import { encodeAlien } from "./alien-patch.js";
import type { Catalog } from "./catalog.js";
import { count, type Effects } from "./effects.js";
import { ReplicError } from "./errors.js";
import type { GroupBounds } from "./group-bounds.js";
import { RUN_LIMITS, type IncompleteGroups } from "./incomplete-groups.js";
import type { GroupParts } from "./intake.js";
import type { MappedPatches } from "./patch-mapping.js";
import type { OriginState, Origins } from "./origins.js";
import type { LocalPatch } from "./replicated-table.js";
import { decodeWire } from "./wire/decoder.js";
import { PatchesEncoder } from "./wire/encoder.js";
import type { WireGroup } from "./wire/types.js";
import { mapPatches } from "./wire-mapping.js";

/** Rows (runs of parts, each at most one received message) read at a time when a group merges from storage. */
export const WINDOW_ROWS = 4;

export interface TakeGroupRooms {
  catalog: Catalog;
  origins: Origins;
  incomplete: IncompleteGroups;
  bounds: GroupBounds;
  maxIncompletePatches: number;
  /** Stored parts of a completed group read into memory at most: a larger group merges from storage (inbound.ts). */
  maxGroupInMemory: number;
}

/** A group complete now. */
export interface CompleteGroup {
  /** Its parts to merge from memory: this message's, and the stored ones of a small group. */
  parts: LocalPatch[];
  /** Set when its stored parts are more than `maxGroupInMemory`: they merge from storage. */
  stored: WireGroup | undefined;
  /** Its stamp. */
  patchedAt: number;
}

/**
 * Takes the parts of one group: returns the group when it is complete now, undefined when its
 * parts were stored to wait. Throws GROUP_MISMATCH when they disagree with what is known of it.
 */
export function takeGroup(r: TakeGroupRooms, { group, parts }: GroupParts, e: Effects): CompleteGroup | undefined {
  const { incomplete, bounds, origins, catalog } = r;
  const stamp = parts[0]!.patchedAt;
  const name = `${group.peerId}.${group.first}-${group.last}`;
  for (const p of parts) if (p.patchedAt !== stamp) throw mismatch(`parts of group ${name} carry different stamps`);
  const pending = incomplete.overlapping(group.peerId, group.first, group.last);
  if (pending && (pending.group.first !== group.first || pending.group.last !== group.last)) {
    throw mismatch(`group ${name} overlaps group ${group.peerId}.${pending.group.first}-${pending.group.last} received before`);
  }
  if (pending && pending.patchedAt !== stamp) throw mismatch(`group ${name} arrives with another stamp than its parts received before`);
  const size = group.last - group.first + 1;
  // A group whole in this message has none of its sequences merged here (they would be
  // duplicates), so no group merged before can overlap it: only a part needs the check.
  if (pending || parts.length < size) {
    for (const b of bounds.overlapping(group.peerId, group.first, group.last, 2)) {
      if (b.first !== group.first || b.last !== group.last) throw mismatch(`group ${name} overlaps group ${group.peerId}.${b.first}-${b.last} merged before`);
    }
  }
  const origin = origins.get(group.peerId);
  if (parts.length + (pending?.parts ?? 0) + heldWithin(origin, group.first, group.last) >= size) {
    bounds.record(group);
    count(e, "groups_completed_total");
    if (!pending) return { parts, stored: undefined, patchedAt: stamp };
    if (pending.parts > r.maxGroupInMemory) return { parts, stored: group, patchedAt: stamp };
    const stored = readParts(catalog, incomplete.parts(group, group.first, size));
    // The whole form of a part naming something unknown here is kept and relayed as received.
    for (const [p, a] of aliensOf(stored) ?? []) (e.alienOf ??= new Map()).set(p, a);
    incomplete.remove(group, origin);
    return { parts: [...stored.patches, ...parts], stored: undefined, patchedAt: stamp };
  }
  // To wait: runs of consecutive parts, a row each; a part with an alien form alone, as received.
  const sorted = parts.length > 1 && !rising(parts) ? [...parts].sort((x, y) => x.seq - y.seq) : parts;
  for (let i = 0; i < sorted.length; ) {
    const room = r.maxIncompletePatches - incomplete.count;
    if (room <= 0) {
      count(e, "incomplete_refused_total", sorted.length - i);
      break;
    }
    const a = e.alienOf?.get(sorted[i]!);
    let j = i + 1;
    if (!a) while (j < sorted.length && j - i < room && sorted[j]!.seq === sorted[j - 1]!.seq + 1 && !e.alienOf?.has(sorted[j]!)) j++;
    const run = sorted.slice(i, j);
    const bytes = a ? encodeAlien({ ...a, group }) : encodeRun(run, group);
    const n = incomplete.store(group, run[0]!.seq, run[run.length - 1]!.seq, stamp, bytes, origin);
    if (n > 0) {
      e.parked += n;
      count(e, "incomplete_parked_total", n);
    } else count(e, "patches_duplicate_total", run.length);
    i = j;
  }
  return undefined;
}

/** Stored runs of parts mapped onto the local schema. */
export function readParts(catalog: Catalog, rows: readonly { bytes: Uint8Array }[]): MappedPatches {
  const out: MappedPatches = { patches: [], aliens: undefined };
  for (const row of rows) {
    const msg = decodeWire(row.bytes, RUN_LIMITS);
    if (msg.kind !== "patches") continue;
    const m = mapPatches(catalog, msg);
    for (const p of m.patches) out.patches.push(p);
    if (m.aliens) for (const a of m.aliens) (out.aliens ??= []).push(a);
  }
  return out;
}

function mismatch(message: string): ReplicError {
  return new ReplicError("GROUP_MISMATCH", `${message}: message refused`);
}

/** Sequences of `first..last` this origin holds (merged, or kept whole). */
function heldWithin(origin: OriginState, first: number, last: number): number {
  let n = Math.max(0, Math.min(last, origin.contiguous) - first + 1);
  for (const s of origin.above) if (s >= first && s <= last && s > origin.contiguous) n++;
  return n;
}

/** Consecutive parts of a group as one patches message naming it. */
function encodeRun(run: readonly LocalPatch[], group: WireGroup): Uint8Array {
  const e = new PatchesEncoder(run.length * 64);
  const tables = new Map<LocalPatch["table"], number>();
  for (const p of run) {
    let ti = tables.get(p.table);
    if (ti === undefined) tables.set(p.table, (ti = e.addTable(p.table.name, p.table.columnNames)));
    e.add(ti, p.peerId, p.seq, p.patchedAt, p.cols, p.values);
  }
  return e.finish([group]);
}

function rising(parts: readonly LocalPatch[]): boolean {
  for (let i = 1; i < parts.length; i++) if (parts[i]!.seq <= parts[i - 1]!.seq) return false;
  return true;
}
