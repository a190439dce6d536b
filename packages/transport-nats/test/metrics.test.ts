// The NATS membership's Prometheus text goes through the core's writer: label values are escaped
// (never rewritten), so a cluster name reads back exactly as configured.
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { NatsCounters, renderNatsMetrics } from "../src/metrics.js";

describe("replic_nats_ metrics", () => {
  it("escapes hostile label values so a Prometheus parser reads them back unchanged", () => {
    const c = new NatsCounters();
    c.members = 2;
    c.publishErrors = 3;
    const cluster = 'team "a" \\ west\nsecond line';
    const families = parsePrometheus(renderNatsMetrics(c, { cluster, peer: "7" }));
    expect(families.map((f) => f.name)).toContain("replic_nats_members");
    for (const f of families) {
      expect(f.help.length, f.name).toBeGreaterThan(0);
      expect(f.metrics).toHaveLength(1);
      expect(f.metrics[0]!.labels).toEqual({ cluster, peer: "7" });
      if (f.type === "COUNTER") expect(f.name).toMatch(/_total$/);
    }
    expect(families.find((f) => f.name === "replic_nats_members")!.metrics[0]!.value).toBe("2");
    expect(families.find((f) => f.name === "replic_nats_publish_errors_total")!.metrics[0]!.value).toBe("3");
  });
});
