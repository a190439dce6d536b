/**
 * The intake of patches of tables unknown here (a peer on another schema version), in the
 * receive transaction of inbound.ts.
 */
import { unknownColumns } from "./alien-mapping.js";
import type { AlienPatch } from "./alien-patch.js";
import { count, type Effects } from "./effects.js";
import { release, type IntakeRooms } from "./intake.js";
import type { LocalPatch } from "./replicated-table.js";
import type { MappedPatches } from "./patch-mapping.js";

/**
 * Patches of tables unknown here: classified like any patch (own origin, held, too old, far
 * future; a held one that is due is released), the rest kept whole in the alien store, where
 * they count as held. Returns those stamped beyond `holdAbove`, to hold.
 */
export function keepAliens(r: IntakeRooms, aliens: readonly AlienPatch[], holdAbove: number, res: Effects): AlienPatch[] {
  const { book, origins, staleness, alien } = r;
  const farFuture: AlienPatch[] = [];
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
    if (origin && ((origin.held.has(a.seq) && !release(r, origin, a, holdAbove, res)) || origin.has(a.seq))) {
      count(res, "patches_duplicate_total");
      continue;
    }
    if (a.patchedAt < book.gcHorizon) {
      count(res, "patches_too_old_total");
      staleness.noteTooOld(a.peerId, a.seq);
      continue;
    }
    if (a.patchedAt > holdAbove) {
      farFuture.push(a);
      continue;
    }
    if (alien.keep(a, unknownColumns(a, undefined))) {
      res.kept.push(a);
      origins.get(a.peerId).add(a.seq);
    } else count(res, "patches_duplicate_total");
  }
  return farFuture;
}

/** The alien form of each local patch that has one (only for messages naming unknown things). */
export function aliensOf(m: MappedPatches): Map<LocalPatch, AlienPatch> | undefined {
  if (!m.aliens) return undefined;
  const map = new Map<LocalPatch, AlienPatch>();
  for (const a of m.aliens) if (a.local) map.set(a.local, a);
  return map;
}
