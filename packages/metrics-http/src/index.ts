/**
 * @replic/metrics-http: a replica's Prometheus text on `/metrics`, on Node `http`
 * (`serveMetrics`) or as a fetch handler for Bun.serve and the like (`metricsHandler`).
 */
export { serveMetrics, type ServeMetricsOptions, type MetricsServer } from "./serve-metrics.js";
export { metricsHandler, type HandlerOptions } from "./metrics-handler.js";
export { exposition, CONTENT_TYPE, type MetricsSource, type ExpositionOptions } from "./exposition.js";
export { statusMetrics } from "./status-metrics.js";
export { peerLagSeconds } from "./peer-lag-seconds.js";
// The replica measures merge batches itself (`replic_merge_batch_duration_seconds` in metrics());
// this histogram is for families of your own passed as `extra`.
export { Histogram } from "@replic/core";
