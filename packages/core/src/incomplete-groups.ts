/**
 * `_replic_incomplete`: the received parts of groups not complete yet. A group (one origin's
 * transaction) becomes visible all at once or not at all, whatever the message boundaries: its
 * parts wait here, durably, until the last one arrives; then all of them merge in one
 * transaction. A row holds a run of consecutive parts from one message (`seq..through`), stored
 * as a patches message naming the group, so storing and reading back cost about what receiving
 * them did; a part with an alien form is a row of its own. The wait is bounded
 * (`maxIncompletePatches`, counted in parts); a group still incomplete once its stamp is older
 * than the retention window is reported, never half-applied.
 */
import { msFromTimestamp } from "./clock.js";
import type { SqliteDriver } from "./driver.js";
import { StatementCache } from "./statement-cache.js";
import type { Origins, OriginState } from "./origins.js";
import type { WireGroup } from "./wire/types.js";

export const INCOMPLETE_TABLE = "_replic_incomplete";

// `through` is NULL in rows of builds that stored one part per row.
const INSERT = `INSERT OR IGNORE INTO ${INCOMPLETE_TABLE} (peerId, seq, through, first, last, patchedAt, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)`;
const PARTS = `SELECT seq, bytes FROM ${INCOMPLETE_TABLE} WHERE peerId = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`;
const REMOVE = `DELETE FROM ${INCOMPLETE_TABLE} WHERE peerId = ? AND seq >= ? AND seq <= ?`;

/** Limits for reading back a stored run (checked when received). */
export const RUN_LIMITS = { maxMessageBytes: Number.MAX_SAFE_INTEGER, maxPatches: Number.MAX_SAFE_INTEGER, maxGroupPatches: Number.MAX_SAFE_INTEGER };

/** What waits of one group. */
export interface PendingGroup {
  group: WireGroup;
  patchedAt: number;
  /** Parts stored. */
  parts: number;
  /** Reported once as overdue (past the retention window). */
  reported: boolean;
}

export class IncompleteGroups {
  /** Parts stored, over all groups. */
  count = 0;
  /** Per origin, the groups waiting, by first sequence. */
  private readonly pending = new Map<number, Map<number, PendingGroup>>();

  private readonly st: StatementCache;
  /** Changes to origins' waiting sets since begin(), each with its undo. */
  private journal: Array<() => void> = [];

  constructor(private readonly driver: SqliteDriver) {
    this.st = new StatementCache(driver);
    driver.exec(`CREATE TABLE IF NOT EXISTS ${INCOMPLETE_TABLE} (
      peerId INTEGER NOT NULL, seq INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
      patchedAt INTEGER NOT NULL, bytes BLOB NOT NULL, through INTEGER,
      PRIMARY KEY (peerId, seq)) WITHOUT ROWID`);
    try {
      driver.prepare(`SELECT through FROM ${INCOMPLETE_TABLE} LIMIT 0`).all([]);
    } catch {
      // Made by a build that stored one part per row.
      driver.exec(`ALTER TABLE ${INCOMPLETE_TABLE} ADD COLUMN through INTEGER`);
    }
  }

  /** Reads what waits (at open) and marks each part in its origin's state. */
  load(origins: Origins): void {
    this.pending.clear();
    this.count = 0;
    const rows = this.driver.prepare(`SELECT peerId, seq, coalesce(through, seq), first, last, patchedAt FROM ${INCOMPLETE_TABLE}`).all([]);
    for (const r of rows) {
      const peerId = Number(r[0]);
      const from = Number(r[1]);
      const through = Number(r[2]);
      const g = this.entry({ peerId, first: Number(r[3]), last: Number(r[4]) }, Number(r[5]));
      g.parts += through - from + 1;
      this.count += through - from + 1;
      const waiting = origins.get(peerId).incomplete;
      for (let s = from; s <= through; s++) waiting.add(s);
    }
  }

  /** The waiting group of `peerId` that overlaps `first..last`, if any (there is at most one per sequence). */
  overlapping(peerId: number, first: number, last: number): PendingGroup | undefined {
    const groups = this.pending.get(peerId);
    if (!groups) return undefined;
    for (const g of groups.values()) if (g.group.first <= last && g.group.last >= first) return g;
    return undefined;
  }

  private entry(group: WireGroup, patchedAt: number): PendingGroup {
    let groups = this.pending.get(group.peerId);
    if (!groups) this.pending.set(group.peerId, (groups = new Map()));
    let g = groups.get(group.first);
    if (!g) groups.set(group.first, (g = { group: { peerId: group.peerId, first: group.first, last: group.last }, patchedAt, parts: 0, reported: false }));
    return g;
  }

  /**
   * Stores the run of parts `from..through` of a group (a patches message naming it) and marks
   * them in their origin's state; returns the parts stored (0 when the run was stored already).
   */
  store(group: WireGroup, from: number, through: number, patchedAt: number, bytes: Uint8Array, origin: OriginState): number {
    if (this.st.get(INSERT).run([group.peerId, from, through, group.first, group.last, patchedAt, bytes]) === 0) return 0;
    const n = through - from + 1;
    this.entry(group, patchedAt).parts += n;
    this.count += n;
    for (let s = from; s <= through; s++) origin.incomplete.add(s);
    this.journal.push(() => {
      for (let s = from; s <= through; s++) origin.incomplete.delete(s);
    });
    return n;
  }

  /** Rows stored for a group (runs of parts), at most `limit` from sequence `from` on, in order. */
  parts(group: WireGroup, from: number, limit: number): { seq: number; bytes: Uint8Array }[] {
    return this.st.get(PARTS)
      .all([group.peerId, from, group.last, limit])
      .map((r) => ({ seq: Number(r[0]), bytes: r[1] as Uint8Array }));
  }

  /** Drops a group's parts (merged now, in the caller's transaction) and unmarks them in its origin's state. */
  remove(group: WireGroup, origin: OriginState): void {
    this.st.get(REMOVE).run([group.peerId, group.first, group.last]);
    const groups = this.pending.get(group.peerId);
    this.count -= groups?.get(group.first)?.parts ?? 0;
    groups?.delete(group.first);
    if (groups && groups.size === 0) this.pending.delete(group.peerId);
    const removed: number[] = [];
    for (let s = group.first; s <= group.last; s++) if (origin.incomplete.delete(s)) removed.push(s);
    this.journal.push(() => {
      for (const s of removed) origin.incomplete.add(s);
    });
  }

  /**
   * Starts a transaction's changes: the returned function puts back what waits (after a rollback),
   * without reading the database, which may be what just failed. Origins share their sets of
   * waiting sequences with their snapshots (origins.ts), so the changes to them are undone here,
   * newest first.
   */
  begin(): () => void {
    const count = this.count;
    const saved = new Map<number, Map<number, PendingGroup>>();
    for (const [peerId, groups] of this.pending) saved.set(peerId, new Map([...groups].map(([k, g]) => [k, { ...g }])));
    const journal: Array<() => void> = (this.journal = []);
    return () => {
      this.count = count;
      this.pending.clear();
      for (const [peerId, groups] of saved) this.pending.set(peerId, groups);
      for (let i = journal.length - 1; i >= 0; i--) journal[i]!();
      journal.length = 0;
    };
  }

  /** Every waiting group. */
  *all(): IterableIterator<PendingGroup> {
    for (const groups of this.pending.values()) yield* groups.values();
  }

  /** What waits, for status(): groups, parts, and the age of the oldest group's stamp at `nowMs`. */
  status(nowMs: number): { count: number; patches: number; oldestAgeMs: number } {
    let count = 0;
    let oldest = 0;
    for (const g of this.all()) {
      count++;
      if (oldest === 0 || g.patchedAt < oldest) oldest = g.patchedAt;
    }
    return { count, patches: this.count, oldestAgeMs: count === 0 ? 0 : Math.max(0, nowMs - msFromTimestamp(oldest)) };
  }

  /** Groups stamped before `beforeMs` and not reported yet; each is marked reported (once each). */
  overdue(beforeMs: number): PendingGroup[] {
    const out: PendingGroup[] = [];
    for (const g of this.all()) {
      if (g.reported || msFromTimestamp(g.patchedAt) >= beforeMs) continue;
      g.reported = true;
      out.push(g);
    }
    return out;
  }
}
