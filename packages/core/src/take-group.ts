/**
 * The parts of one group a message carries, in the receive transaction (inbound.ts): refused
 * (the whole message) when they disagree with what is known of the group; complete when they,
 * the parts stored before and the sequences held here cover it; otherwise stored to wait for the
 * rest (incomplete-groups.ts), bounded by `maxIncompletePatches`.
 */
import { aliensOf } from "./alien-intake.js";
import { encodeAlien, STORED_LIMITS, type AlienPatch } from "./alien-patch.js";
import type { Catalog } from "./catalog.js";
import { count, type Effects } from "./effects.js";
import { ReplicError } from "./errors.js";
import type { GroupBounds } from "./group-bounds.js";
import type { IncompleteGroups } from "./incomplete-groups.js";
import type { GroupParts } from "./intake.js";
import type { MappedPatches } from "./patch-mapping.js";
import type { OriginState, Origins } from "./origins.js";
import type { LocalPatch } from "./replicated-table.js";
import { decodeWire } from "./wire/decoder.js";
import { PatchesEncoder } from "./wire/encoder.js";
import type { WireGroup } from "./wire/types.js";
import { mapPatches } from "./wire-mapping.js";

/**
 * Stored parts of a completed group read into memory at most: a larger group merges from
 * storage, this many parts at a time (inbound.ts).
 */
export const GROUP_WINDOW = 10_000;

export interface TakeGroupRooms {
  catalog: Catalog;
  origins: Origins;
  incomplete: IncompleteGroups;
  bounds: GroupBounds;
  maxIncompletePatches: number;
}

/** A group complete now. */
export interface CompleteGroup {
  /** Its parts to merge from memory: this message's, and the stored ones of a small group. */
  parts: LocalPatch[];
  /** Set when its stored parts are more than GROUP_WINDOW: they merge from storage. */
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
    if (pending.parts > GROUP_WINDOW) return { parts, stored: group, patchedAt: stamp };
    const stored = readParts(catalog, incomplete.parts(group, group.first, size));
    // The whole form of a part naming something unknown here is kept and relayed as received.
    for (const [p, a] of aliensOf(stored) ?? []) (e.alienOf ??= new Map()).set(p, a);
    incomplete.remove(group, origin);
    return { parts: [...stored.patches, ...parts], stored: undefined, patchedAt: stamp };
  }
  for (const p of parts) {
    if (incomplete.count >= r.maxIncompletePatches) {
      count(e, "incomplete_refused_total");
      continue;
    }
    if (incomplete.store(group, p.seq, p.patchedAt, encodePart(p, e.alienOf?.get(p), group), origin)) {
      e.parked++;
      count(e, "incomplete_parked_total");
    } else count(e, "patches_duplicate_total");
  }
  return undefined;
}

/** Stored parts (one-patch messages as received) mapped onto the local schema. */
export function readParts(catalog: Catalog, rows: readonly { bytes: Uint8Array }[]): MappedPatches {
  const out: MappedPatches = { patches: [], aliens: undefined };
  for (const row of rows) {
    const msg = decodeWire(row.bytes, STORED_LIMITS);
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

/** A part of an incomplete group as a one-patch message with its group, as received (whole when part of it is unknown here). */
function encodePart(p: LocalPatch, a: AlienPatch | undefined, group: WireGroup): Uint8Array {
  if (a) return encodeAlien({ ...a, group });
  const e = new PatchesEncoder(64);
  const ti = e.addTable(p.table.name, p.table.columnNames);
  e.add(ti, p.peerId, p.seq, p.patchedAt, p.cols, p.values);
  return e.finish([group]);
}
