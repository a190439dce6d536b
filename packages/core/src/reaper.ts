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
import type { Metrics } from "./metrics.js";
import type { ResolvedOptions } from "./options.js";
import type { Origins } from "./origins.js";
import type { TxBracket } from "./transaction.js";

export class Reaper {
  constructor(
    private readonly book: Bookkeeping,
    private readonly catalog: Catalog,
    private readonly clock: HybridLogicalClock,
    private readonly tx: TxBracket,
    private readonly origins: Origins,
    private readonly metrics: Metrics,
    private readonly opts: ResolvedOptions,
    private readonly alien: AlienStore,
  ) {}

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
          for (const o of this.origins.all.values()) {
            if (o.contiguous < o.retainedFrom) continue;
            let young = Infinity;
            for (const t of this.catalog.tables.values()) young = Math.min(young, t.log.firstStampedFrom(o.peerId, o.retainedFrom, cutoff) ?? Infinity);
            young = Math.min(young, this.alien.firstStampedFrom(o.peerId, o.retainedFrom, cutoff) ?? Infinity);
            const last = Math.min(young - 1, o.contiguous);
            if (last < o.retainedFrom) continue;
            for (const t of this.catalog.tables.values()) n += t.log.deleteThrough(o.peerId, last);
            // Kept whole: a patch with a known part was counted above, one of an unknown table not.
            if (this.alien.deleteThrough(o.peerId, last) > 0) kept = true;
            this.catalog.nullStore.deleteThrough(o.peerId, last);
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
