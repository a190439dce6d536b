/** Builds the whole /metrics body: the replica's own text, gauges derived from its status, and extra sources. */
import type { ReplicaStatus } from "@replic/core";
import { statusMetrics } from "./status-metrics.js";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A replica, or anything else that renders Prometheus text. */
export interface MetricsSource {
  metrics(): string;
  status?(): ReplicaStatus;
}

export interface ExpositionOptions {
  /** More Prometheus text, e.g. `() => snapshotMetrics.text()`. */
  extra?: Array<() => string>;
  /** Gauges derived from status() (per-peer contact age, per-origin gaps). Default true. */
  statusGauges?: boolean;
}

export function exposition(source: MetricsSource, options: ExpositionOptions = {}): string {
  const parts = [source.metrics()];
  if (options.statusGauges !== false && typeof source.status === "function") parts.push(statusMetrics(source.status()));
  for (const f of options.extra ?? []) parts.push(f());
  return parts.map((p) => (p.endsWith("\n") ? p : p + "\n")).join("");
}
