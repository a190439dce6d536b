/**
 * Staleness: an origin is stale when this replica lacks patches of it that no reachable
 * neighbour can supply in a form it may merge — collected everywhere it could ask, or only
 * offered older than its own collection horizon. It is decided afresh on every repair round
 * from what neighbours advertise now, so it clears by itself when the gap is filled or the claim
 * goes away. A stale origin's waiters are rejected with StaleReplicaError (NEEDS_RESEED).
 */
import { StaleReplicaError } from "./errors.js";
import type { Events } from "./events.js";
import type { Metrics } from "./metrics.js";
import type { Logger } from "./options.js";
import type { Waiters } from "./waiters.js";

export class Staleness {
  private readonly stale = new Map<number, string>();
  /** Per origin, the lowest sequence refused as too old and not held since. */
  private readonly tooOld = new Map<number, number>();

  constructor(
    private readonly selfId: number,
    private readonly metrics: Metrics,
    private readonly events: Events,
    private readonly waiters: Waiters,
    private readonly logger: Logger | undefined,
  ) {}

  has(origin: number): boolean {
    return this.stale.has(origin);
  }

  origins(): number[] {
    return [...this.stale.keys()];
  }

  /** A patch of `origin` at `seq` was refused as older than the collection horizon. */
  noteTooOld(origin: number, seq: number): void {
    const prev = this.tooOld.get(origin);
    if (prev === undefined || seq < prev) this.tooOld.set(origin, seq);
  }

  /** The lowest too-old sequence of `origin` above `contiguous`, if any (forgets filled ones). */
  tooOldAbove(origin: number, contiguous: number): number | undefined {
    const s = this.tooOld.get(origin);
    if (s === undefined) return undefined;
    if (s <= contiguous) {
      this.tooOld.delete(origin);
      return undefined;
    }
    return s;
  }

  /** Replaces the stale set with `now` (origin → reason), announcing origins that became stale. */
  update(now: Map<number, string>): void {
    for (const origin of [...this.stale.keys()]) if (!now.has(origin)) this.stale.delete(origin);
    for (const [origin, reason] of now) {
      if (this.stale.has(origin) || origin === this.selfId) continue;
      this.stale.set(origin, reason);
      const err = new StaleReplicaError(origin, `needs a re-seed: ${reason}`);
      this.logger?.warn(`replic: ${err.message}`);
      this.waiters.rejectOrigin(origin, err);
      this.events.emit("stale", err);
    }
    this.metrics.set("stale_origins", this.stale.size);
  }

  error(origin: number, selfId: number): StaleReplicaError {
    return new StaleReplicaError(origin, `replica ${selfId} needs a re-seed: ${this.stale.get(origin) ?? "stale"}`);
  }
}
