// The hub's counters go through the core's one Prometheus writer: read back with a real parser,
// every family keeps its name, type and value, and a label value of any content stays one label.
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { emptyCounters, renderHubMetrics } from "../src/hub-metrics";

describe("hub metrics", () => {
  it("parse back with their types and values; a refused code of any content stays one label", () => {
    const c = emptyCounters();
    Object.assign(c, { links: 3, authFailures: 1, badFrames: 2, oversized: 4, deadLinks: 5, slowReaders: 6, floods: 7, withheld: 8, bytesIn: 900, bytesOut: 1000 });
    const odd = 'A"B\\C\nD';
    c.refused = { VALUE_TOO_LARGE: 2, [odd]: 1 };
    const families = parsePrometheus(renderHubMetrics(c, 9));
    const value = (name: string) => families.find((f) => f.name === name)?.metrics.map((m) => Number(m.value));
    const type = (name: string) => families.find((f) => f.name === name)?.type;
    expect(value("replic_hub_linked_peers")).toEqual([9]);
    expect(type("replic_hub_linked_peers")).toBe("GAUGE");
    const counters: Array<[string, number]> = [
      ["replic_hub_links_total", 3],
      ["replic_hub_auth_failures_total", 1],
      ["replic_hub_bad_frames_total", 2],
      ["replic_hub_oversized_frames_total", 4],
      ["replic_hub_dead_links_total", 5],
      ["replic_hub_slow_readers_total", 6],
      ["replic_hub_floods_total", 7],
      ["replic_hub_withheld_total", 8],
      ["replic_hub_bytes_in_total", 900],
      ["replic_hub_bytes_out_total", 1000],
    ];
    for (const [name, v] of counters) {
      expect(value(name), name).toEqual([v]);
      expect(type(name), name).toBe("COUNTER");
    }
    const refused = families.find((f) => f.name === "replic_hub_refused_messages_total")!;
    expect(refused.type).toBe("COUNTER");
    expect(refused.metrics.map((m) => [m.labels?.code, Number(m.value)])).toEqual([
      [odd, 1],
      ["VALUE_TOO_LARGE", 2],
    ]);
    expect(families).toHaveLength(counters.length + 2);
  });

  it("a hub that refused nothing still declares the refused family, with no series", () => {
    const text = renderHubMetrics(emptyCounters(), 0);
    expect(text).toMatch(/^# TYPE replic_hub_refused_messages_total counter$/m);
    expect(text).not.toMatch(/^replic_hub_refused_messages_total/m);
  });
});
