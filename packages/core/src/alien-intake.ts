/**
 * The intake of patches of tables unknown here (a peer on another schema version), in the
 * receive transaction of inbound.ts.
 */
import { unknownColumns } from "./alien-mapping.js";
import type { AlienPatch } from "./alien-patch.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Origins } from "./origins.js";
import { count, type Effects } from "./effects.js";
import type { LocalPatch } from "./replicated-table.js";
import type { Staleness } from "./staleness.js";
import type { MappedPatches } from "./patch-mapping.js";

export interface IntakeRooms {
  book: Bookkeeping;
  origins: Origins;
  staleness: Staleness;
  alien: AlienStore;
}

/**
 * Patches of tables unknown here: classified like any patch (own origin, held, too old, far
 * future), the rest kept whole in the alien store, where they count as held.
 */
export function keepAliens(r: IntakeRooms, aliens: AlienPatch[], releasing: boolean, holdAbove: number, res: Effects, heldAlien: AlienPatch[]): void {
  const { book, origins, staleness, alien } = r;
  for (const a of aliens) {
    if (a.local) continue;
    if (a.peerId === book.peerId) {
      // Never merged; an echo of our own patch (kept here through a rollback) is a duplicate.
      const kept = alien.stampOf(a.peerId, a.seq);
      if (a.seq > book.seq || (kept !== undefined && kept !== a.patchedAt)) {
        count(res, "patches_own_refused_total");
        res.ownConflict = `received patch ${a.peerId}.${a.seq}, which this replica did not write: another writer uses this id`;
      } else count(res, "patches_duplicate_total");
      continue;
    }
    const origin = origins.find(a.peerId);
    if (origin && (origin.has(a.seq) || (!releasing && origin.held.has(a.seq)))) {
      count(res, "patches_duplicate_total");
      continue;
    }
    if (a.patchedAt < book.gcHorizon) {
      count(res, "patches_too_old_total");
      staleness.noteTooOld(a.peerId, a.seq);
      continue;
    }
    if (a.patchedAt > holdAbove) {
      heldAlien.push(a);
      continue;
    }
    if (alien.keep(a, unknownColumns(a, undefined))) {
      res.kept.push(a);
      origins.get(a.peerId).add(a.seq);
    } else count(res, "patches_duplicate_total");
  }
}


/** The alien form of each local patch that has one (only for messages naming unknown things). */
export function aliensOf(m: MappedPatches): Map<LocalPatch, AlienPatch> | undefined {
  if (!m.aliens) return undefined;
  const map = new Map<LocalPatch, AlienPatch>();
  for (const a of m.aliens) if (a.local) map.set(a.local, a);
  return map;
}
