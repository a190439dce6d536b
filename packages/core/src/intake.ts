/**
 * Intake: the first step of the receive transaction (inbound.ts), for a neighbour's message and
 * for held patches whose time has come alike. Each patch of a known table is classified once:
 * our own origin (refused, or an echo), already here (a duplicate, or a second writer's version
 * under a merged sequence), repeated in the message, waiting as part of a group, older than the
 * collection horizon (refused), stamped beyond the drift bound (to hold), part of a group (the
 * group decides), or mergeable now. A held patch that is due is released here, whoever brings it.
 */
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Catalog } from "./catalog.js";
import { count, type Effects } from "./effects.js";
import type { HeldPatches } from "./held-patches.js";
import type { OriginState, Origins } from "./origins.js";
import type { LocalPatch } from "./replicated-table.js";
import type { Staleness } from "./staleness.js";
import type { WireGroup } from "./wire/types.js";

export interface IntakeRooms {
  book: Bookkeeping;
  catalog: Catalog;
  origins: Origins;
  staleness: Staleness;
  held: HeldPatches;
  alien: AlienStore;
}

/** The parts of one group a message carries. */
export interface GroupParts {
  group: WireGroup;
  parts: LocalPatch[];
}

/** What intake made of a message's patches of known tables. */
export interface Intake {
  /** Under a sequence merged here already: a duplicate, or another version of it (inbound.ts). */
  merged: LocalPatch[];
  /** Mergeable now (in no group). */
  ready: LocalPatch[];
  /** Stamped beyond the drift bound: held whole. */
  farFuture: LocalPatch[];
  /** Parts of groups, by group, in the order first seen. */
  groups: GroupParts[];
}

/** Classifies `patches` (timestamps above `holdAbove` are held); counters go to `e`. */
export function intake(r: IntakeRooms, patches: readonly LocalPatch[], holdAbove: number, e: Effects): Intake {
  const { book, origins, staleness } = r;
  const out: Intake = { merged: [], ready: [], farFuture: [], groups: [] };
  const selfId = book.peerId;
  const repeats = new Repeats(patches);
  const groups = new Map<string, GroupParts>();
  let last: GroupParts | undefined;
  let lastOf: WireGroup | undefined;
  for (let i = 0; i < patches.length; i++) {
    const p = patches[i]!;
    if (p.peerId === selfId) {
      // Never merge our own origin from outside: echoes are duplicates, anything else a second writer.
      const conflict = ownPatchConflict(r, p);
      if (conflict) {
        count(e, "patches_own_refused_total");
        e.ownConflict = conflict;
      } else count(e, "patches_duplicate_total");
      continue;
    }
    if (repeats.seen(i)) {
      count(e, "patches_duplicate_total");
      continue;
    }
    const origin = origins.find(p.peerId);
    if (origin && ((origin.held.has(p.seq) && !release(r, origin, p, holdAbove, e)) || origin.incomplete.has(p.seq))) {
      count(e, "patches_duplicate_total");
      continue;
    }
    if (origin && origin.has(p.seq)) {
      out.merged.push(p);
      continue;
    }
    if (p.patchedAt < book.gcHorizon) {
      // Later patches of this row may have been collected: merging could go silently wrong.
      count(e, "patches_too_old_total");
      staleness.noteTooOld(p.peerId, p.seq);
      continue;
    }
    if (p.patchedAt > holdAbove) {
      out.farFuture.push(p);
      continue;
    }
    if (!p.group) {
      out.ready.push(p);
      continue;
    }
    // A group's patches usually come together, under one object (released holds: several).
    if (p.group !== lastOf) {
      const key = `${p.group.peerId}:${p.group.first}`;
      last = groups.get(key);
      if (!last) {
        groups.set(key, (last = { group: p.group, parts: [] }));
        out.groups.push(last);
      }
      lastOf = p.group;
    }
    last!.parts.push(p);
  }
  return out;
}

/**
 * A held patch brought again (by a neighbour, or by the round that releases holds): when due,
 * and the version held, its hold ends here and it goes on like any received patch (true);
 * otherwise it stays held and this copy is a duplicate.
 */
export function release(r: Pick<IntakeRooms, "held">, origin: OriginState, p: { peerId: number; seq: number; patchedAt: number }, holdAbove: number, e: Effects): boolean {
  if (p.patchedAt > holdAbove || !r.held.releaseVersion(p.peerId, p.seq, p.patchedAt)) return false;
  origin.held.delete(p.seq);
  count(e, "patches_released_total");
  return true;
}

/** Why a patch of our own origin cannot be ours, or undefined when it is a plain echo. */
function ownPatchConflict(r: IntakeRooms, p: LocalPatch): string | undefined {
  const { book, catalog, alien } = r;
  const kept = alien.stampOf(p.peerId, p.seq);
  if (kept !== undefined && kept === p.patchedAt) return undefined;
  if (p.seq > book.seq) return `received patch ${p.peerId}.${p.seq}, beyond this replica's own sequence ${book.seq}: another writer uses this id`;
  const stored = catalog.stored(p.peerId, p.seq);
  if (stored === undefined || stored.stamp === p.patchedAt) return undefined; // an echo (or collected here: an old one)
  return `received patch ${p.peerId}.${p.seq}, which differs from the one this replica wrote: another writer uses this id`;
}

/**
 * Sequences already taken in one message. Senders list an origin's patches in rising order, so
 * a set is built (from the patches before) only once an origin's sequence does not rise: a
 * repeat, or a reordering relay.
 */
class Repeats {
  private readonly highest = new Map<number, number>();
  private readonly taken = new Map<number, Set<number>>();

  constructor(private readonly patches: readonly LocalPatch[]) {}

  /** Whether patch `i` repeats a sequence of an earlier patch of the message. */
  seen(i: number): boolean {
    const { peerId, seq } = this.patches[i]!;
    const top = this.highest.get(peerId);
    let set = this.taken.get(peerId);
    if (top === undefined || seq > top) {
      this.highest.set(peerId, seq);
      set?.add(seq);
      return false;
    }
    if (!set) {
      set = new Set();
      for (let k = 0; k < i; k++) if (this.patches[k]!.peerId === peerId) set.add(this.patches[k]!.seq);
      this.taken.set(peerId, set);
    }
    if (set.has(seq)) return true;
    set.add(seq);
    return false;
  }
}
