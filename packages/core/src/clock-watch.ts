/**
 * Following a neighbour's clock: a stamp or a heartbeat clock from the wire moves the local
 * hybrid logical clock forward, unless it is further ahead than the drift bound (then it is not
 * followed, and the refusal is counted). Shared by received patches and received heartbeats.
 */
import type { HybridLogicalClock } from "./clock.js";
import type { Metrics } from "./metrics.js";
import type { Logger } from "./options.js";

export interface ClockWatchRooms {
  clock: HybridLogicalClock;
  metrics: Metrics;
  logger: Logger | undefined;
}

/** Observes `remote` (a timestamp) from neighbour `fromPeerId`, when known. */
export function observeRemoteClock(r: ClockWatchRooms, remote: number, fromPeerId: number | undefined): void {
  const o = r.clock.observe(remote);
  if (o.beyondBound) {
    r.metrics.inc("clock_drift_rejections_total");
    r.logger?.debug?.(`replic: remote clock ${o.aheadMs} ms ahead (peer ${fromPeerId ?? "?"}); not followed`);
  }
}
