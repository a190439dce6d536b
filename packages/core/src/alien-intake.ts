/**
 * The intake of patches of tables unknown here (a peer on another schema version), in the
 * receive transaction of inbound.ts, and the result that transaction returns.
 */
import { unknownColumns } from "./alien-mapping.js";
import type { AlienPatch } from "./alien-patch.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Origins } from "./origins.js";
import type { LocalPatch } from "./replicated-table.js";
import type { Staleness } from "./staleness.js";
import type { MappedPatches } from "./wire-mapping.js";

export interface MergeResult {
  applied: LocalPatch[];
  /** Alien patches of tables unknown here, kept (they count as held). */
  kept: AlienPatch[];
  duplicates: number;
  tooOld: number;
  held: number;
  heldRefused: number;
  own: number;
  ownConflict: string | undefined;
  /** Per origin, patches that differ from the stored one under the same sequence (two writers under one id). */
  conflicts: Map<number, number>;
  /** Our version won against the sender's: send it back so the sender converges. */
  sendBack: LocalPatch[];
  /** The sender's version won and replaced ours: pass it on to everyone. */
  replaced: LocalPatch[];
}

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
export function keepAliens(r: IntakeRooms, aliens: AlienPatch[], releasing: boolean, holdAbove: number, res: MergeResult, heldAlien: AlienPatch[]): void {
  const { book, origins, staleness, alien } = r;
  for (const a of aliens) {
    if (a.local) continue;
    if (a.peerId === book.peerId) {
      // Never merged; an echo of our own patch (kept here through a rollback) is a duplicate.
      const kept = alien.stampOf(a.peerId, a.seq);
      if (a.seq > book.seq || (kept !== undefined && kept !== a.patchedAt)) {
        res.own++;
        res.ownConflict = `received patch ${a.peerId}.${a.seq}, which this replica did not write: another writer uses this id`;
      } else res.duplicates++;
      continue;
    }
    const origin = origins.find(a.peerId);
    if (origin && (origin.has(a.seq) || (!releasing && origin.held.has(a.seq)))) {
      res.duplicates++;
      continue;
    }
    if (a.patchedAt < book.gcHorizon) {
      res.tooOld++;
      staleness.noteTooOld(a.peerId, a.seq);
      continue;
    }
    if (a.patchedAt > holdAbove) {
      heldAlien.push(a);
      continue;
    }
    if (alien.keep(a, unknownColumns(a, undefined))) res.kept.push(a);
    else res.duplicates++;
  }
}


/** The alien form of each local patch that has one (only for messages naming unknown things). */
export function aliensOf(m: MappedPatches): Map<LocalPatch, AlienPatch> | undefined {
  if (!m.aliens) return undefined;
  const map = new Map<LocalPatch, AlienPatch>();
  for (const a of m.aliens) if (a.local) map.set(a.local, a);
  return map;
}
