/**
 * Garbage collection: per origin, deletes the oldest run of its patches that are all older than
 * the retention window, only up to its contiguous head (so gaps can still be detected and asked
 * for), and raises the horizon below which late patches are refused (they could merge wrongly
 * against collected ones). The run ends at the first patch stamped inside the window: an honest
 * origin's stamps rise with its sequence, so finding it reads only what is collected, and a patch
 * younger than the window is never collected, whatever the origin stamped after it.
 */
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { Catalog } from "./catalog.js";
import { timestampFromMs, type HybridLogicalClock } from "./clock.js";
import { fromSqlite } from "./errors.js";
import type { GroupBounds } from "./group-bounds.js";
import type { Metrics } from "./metrics.js";
import type { Origins } from "./origins.js";
import type { TxBracket } from "./transaction.js";

/** The options collection reads. */
export interface ReaperOptions {
  retentionMs: number;
  now: () => number;
}

export interface ReaperRooms {
  book: Bookkeeping;
  catalog: Catalog;
  clock: HybridLogicalClock;
  tx: TxBracket;
  origins: Origins;
  metrics: Metrics;
  alien: AlienStore;
  bounds: GroupBounds;
}

export class Reaper {
  private readonly book: Bookkeeping;
  private readonly catalog: Catalog;
  private readonly clock: HybridLogicalClock;
  private readonly tx: TxBracket;
  private readonly origins: Origins;
  private readonly metrics: Metrics;
  private readonly alien: AlienStore;
  private readonly bounds: GroupBounds;

  constructor(rooms: ReaperRooms, private readonly opts: ReaperOptions) {
    ({ book: this.book, catalog: this.catalog, clock: this.clock, tx: this.tx, origins: this.origins, metrics: this.metrics, alien: this.alien, bounds: this.bounds } = rooms);
  }

  /** Collects now; returns the number of patches deleted. */
  collect(): number {
    if (this.opts.retentionMs <= 0) return 0;
    const cutoff = timestampFromMs(this.opts.now() - this.opts.retentionMs);
    const horizonBefore = this.book.gcHorizon;
    const restoreOrigins = this.origins.snapshot(this.origins.all.keys());
    let removed = 0;
    try {
      removed = this.tx.run(
        () => {
          let n = 0;
          let kept = false;
          const parked = this.catalog.visibility.parkedFloors();
          for (const o of this.origins.all.values()) {
            if (o.contiguous < o.retainedFrom) continue;
            let young = Infinity;
            for (const t of this.catalog.tables.values()) young = Math.min(young, t.log.firstStampedFrom(o.peerId, o.retainedFrom, cutoff) ?? Infinity);
            young = Math.min(young, this.alien.firstStampedFrom(o.peerId, o.retainedFrom, cutoff) ?? Infinity);
            // A parked row's patches stay until it is shown (README, "Rows become visible when they are valid").
            young = Math.min(young, parked.get(o.peerId) ?? Infinity);
            const last = Math.min(young - 1, o.contiguous);
            if (last < o.retainedFrom) continue;
            for (const t of this.catalog.tables.values()) n += t.log.deleteThrough(o.peerId, last);
            // Kept whole: a patch with a known part was counted above, one of an unknown table not.
            if (this.alien.deleteThrough(o.peerId, last) > 0) kept = true;
            this.catalog.nullStore.deleteThrough(o.peerId, last);
            // A group's patches share a stamp: all of it is collected, or none.
            this.bounds.collect(o.peerId, last + 1);
            o.retainedFrom = last + 1;
            this.book.savePeer(o.head());
          }
          if (cutoff > this.book.gcHorizon && (n > 0 || kept)) this.book.gcHorizon = cutoff;
          this.book.persist(this.clock.current, this.catalog.tables.keys());
          return n;
        },
        () => {
          this.book.gcHorizon = horizonBefore;
          this.alien.recount();
          restoreOrigins();
        },
      );
    } catch (err) {
      throw fromSqlite(err);
    }
    this.metrics.inc("patches_collected_total", removed);
    return removed;
  }
}
