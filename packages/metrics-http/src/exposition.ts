/** Builds the whole /metrics body: the replica's own text, gauges derived from its status, and extra sources. */
import { PROMETHEUS_CONTENT_TYPE, type ReplicaStatus, type SqliteDriver } from "@replic/core";
import { peerLagSeconds } from "./peer-lag-seconds.js";
import { statusMetrics } from "./status-metrics.js";

export const CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;

/** A replica, or anything else that renders Prometheus text. */
export interface MetricsSource {
  metrics(): string;
  status?(): ReplicaStatus;
}

export interface ExpositionOptions {
  /** More Prometheus text, e.g. `() => snapshotMetrics.text()` or `() => link.metrics()`. */
  extra?: Array<() => string>;
  /** Gauges derived from status() (per-peer contact age, per-origin gaps). Default true. */
  statusGauges?: boolean;
  /** The replica's database: adds `replic_peer_lag_seconds{peer}` (reads one patch per neighbour and origin). */
  driver?: SqliteDriver;
  /** Wall clock in ms for ages (give the replica's `now` if you injected one). Default Date.now. */
  now?: () => number;
}

export function exposition(source: MetricsSource, options: ExpositionOptions = {}): string {
  const parts = [source.metrics()];
  if (typeof source.status === "function" && (options.statusGauges !== false || options.driver)) {
    const status = source.status();
    const now = (options.now ?? Date.now)();
    if (options.statusGauges !== false) parts.push(statusMetrics(status, now));
    if (options.driver) parts.push(peerLagSeconds(status, options.driver, now));
  }
  for (const f of options.extra ?? []) parts.push(f());
  return parts.map((p) => (p.endsWith("\n") ? p : p + "\n")).join("");
}
