/**
 * Counters and gauges of snapshot work, exposed in Prometheus text format next to a replica's
 * own metrics (see serveMetrics / metricsHandler).
 */
import { prometheusText } from "@replic/core";

export class SnapshotMetrics {
  uploadsTotal = 0;
  uploadFailuresTotal = 0;
  uploadedBytesTotal = 0;
  restoresTotal = 0;
  restoreFailuresTotal = 0;
  downloadedBytesTotal = 0;
  retriesTotal = 0;
  /** Unix ms of the last snapshot this process uploaded or restored, 0 if none. */
  lastSnapshotMs = 0;
  /** Compressed bytes of that snapshot. */
  lastSnapshotBytes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  text(): string {
    const age = this.lastSnapshotMs > 0 ? Math.max(0, (this.now() - this.lastSnapshotMs) / 1000) : 0;
    const families: [string, "counter" | "gauge", string, number][] = [
      ["replic_snapshot_uploads_total", "counter", "Snapshots uploaded completely (manifest written).", this.uploadsTotal],
      ["replic_snapshot_upload_failures_total", "counter", "Snapshot uploads that failed after their retries.", this.uploadFailuresTotal],
      ["replic_snapshot_uploaded_bytes_total", "counter", "Compressed snapshot bytes uploaded.", this.uploadedBytesTotal],
      ["replic_snapshot_restores_total", "counter", "Databases restored from a snapshot.", this.restoresTotal],
      ["replic_snapshot_restore_failures_total", "counter", "Restores refused or failed (local database untouched).", this.restoreFailuresTotal],
      ["replic_snapshot_downloaded_bytes_total", "counter", "Compressed snapshot bytes downloaded.", this.downloadedBytesTotal],
      ["replic_snapshot_retries_total", "counter", "S3 requests retried after a network or server error.", this.retriesTotal],
      ["replic_snapshot_age_seconds", "gauge", "Seconds since the last snapshot uploaded or restored by this process (0 if none).", age],
      ["replic_snapshot_size_bytes", "gauge", "Compressed size of the last snapshot uploaded or restored.", this.lastSnapshotBytes],
      ["replic_snapshot_last_timestamp_seconds", "gauge", "Unix time of the last snapshot uploaded or restored (0 if none).", this.lastSnapshotMs / 1000],
    ];
    return prometheusText(families.map(([name, type, help, value]) => ({ name, type, help, samples: [{ value }] })));
  }
}
