/**
 * Hybrid logical clock packed into 53 bits so it is an exact JS number and SQLite INTEGER:
 * the high 42 bits are Unix milliseconds (good until year 2109), the low 11 bits a counter
 * for events within the same millisecond. Values only ever grow.
 */

export const COUNTER_BITS = 11;
const COUNTER_SPAN = 2 ** COUNTER_BITS; // 2048
export const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

export function timestampFromMs(ms: number): number {
  return Math.floor(ms) * COUNTER_SPAN;
}

export function msFromTimestamp(ts: number): number {
  return Math.floor(ts / COUNTER_SPAN);
}

export interface ClockObservation {
  /** True when the remote timestamp was ahead of our wall clock by more than the bound. */
  readonly beyondBound: boolean;
  /** How far ahead of our wall clock (ms) the remote timestamp was; negative when behind. */
  readonly aheadMs: number;
}

export class HybridLogicalClock {
  private last: number;

  /**
   * @param now wall clock in ms
   * @param maxDriftMs a remote clock more than this far ahead of `now` is not followed
   * @param start the highest timestamp this peer ever issued or followed (restored on restart)
   */
  constructor(
    private readonly now: () => number,
    private readonly maxDriftMs: number,
    start = 0,
  ) {
    this.last = start;
  }

  /** The last timestamp issued or followed. */
  get current(): number {
    return this.last;
  }

  /** A fresh timestamp, strictly greater than every earlier one. */
  next(): number {
    const wall = timestampFromMs(this.now());
    this.last = wall > this.last ? wall : this.last + 1;
    if (this.last > MAX_TIMESTAMP) throw new RangeError("hybrid logical clock overflow");
    return this.last;
  }

  /**
   * Follow a remote timestamp so later local writes order after it, unless it runs ahead of
   * our wall clock by more than the bound: then we do not follow (convergence does not need
   * it, the merge order stays total) and report it so it is counted.
   */
  observe(remote: number): ClockObservation {
    const wallMs = this.now();
    const aheadMs = msFromTimestamp(remote) - wallMs;
    if (aheadMs > this.maxDriftMs) return { beyondBound: true, aheadMs };
    if (remote > this.last) this.last = remote;
    return { beyondBound: false, aheadMs };
  }
}
