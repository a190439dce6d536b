// Snapshot metrics are written by the core's Prometheus writer: every family reads back with a
// real parser, with HELP, TYPE and its value.
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { SnapshotMetrics } from "../src/index.js";

describe("SnapshotMetrics.text()", () => {
  it("parses as Prometheus text: counters end in _total, ages from the injected clock", () => {
    const m = new SnapshotMetrics(() => 1_800_000_010_000);
    m.uploadsTotal = 3;
    m.lastSnapshotMs = 1_800_000_000_000;
    m.lastSnapshotBytes = 512;
    const families = parsePrometheus(m.text());
    expect(families).toHaveLength(10);
    const value = (name: string) => Number(families.find((f) => f.name === name)!.metrics[0]!.value);
    for (const f of families) {
      expect(f.help.length, f.name).toBeGreaterThan(0);
      expect(f.type === "COUNTER" ? f.name : "_total").toMatch(/_total$/);
    }
    expect(value("replic_snapshot_uploads_total")).toBe(3);
    expect(value("replic_snapshot_age_seconds")).toBe(10);
    expect(value("replic_snapshot_size_bytes")).toBe(512);
    expect(value("replic_snapshot_last_timestamp_seconds")).toBe(1_800_000_000);
  });
});
