// The metrics room and the one Prometheus text writer: every output is read back with a real
// Prometheus parser (parse-prometheus-text-format), hostile label values and help texts included,
// and the replica's own merge-batch histogram counts exactly the patches messages that merged.
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { Metrics, Histogram } from "../src/metrics.js";
import { createReplica, encodeWire, isReplicError, prometheusText, formatValue, type MetricFamily } from "../src/index.js";
import { testDriver } from "./helpers.js";

const HOSTILE = ['say "hi"', "back\\slash", "two\nlines", 'all \\" of\n them \\n', "} , = {", "ünï 😀", "", "\\"];

function family(text: string, name: string) {
  const f = parsePrometheus(text).find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name} in:\n${text}`);
  return f;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isReplicError(e) ? e.code : `not a ReplicError: ${String(e)}`;
  }
  return undefined;
}

describe("prometheusText", () => {
  it("escapes label values so any string reads back unchanged", () => {
    const text = prometheusText([
      { name: "x_total", help: "x", type: "counter", samples: HOSTILE.map((v, i) => ({ labels: { v, i }, value: i })) },
    ]);
    const f = family(text, "x_total");
    expect(f.type).toBe("COUNTER");
    expect(f.metrics.map((m) => m.labels)).toEqual(HOSTILE.map((v, i) => ({ v, i: String(i) })));
    expect(f.metrics.map((m) => Number(m.value))).toEqual(HOSTILE.map((_, i) => i));
    // One line per sample: a newline in a value never splits a line.
    expect(text.split("\n").filter((l) => l.startsWith("x_total"))).toHaveLength(HOSTILE.length);
  });

  it("escapes backslashes and newlines in HELP and leaves quotes as they are", () => {
    const help = 'a "quoted" \\ path\nand a second line';
    const text = prometheusText([{ name: "h", help, type: "gauge", samples: [{ value: 1 }] }]);
    expect(text.split("\n")[0]).toBe('# HELP h a "quoted" \\\\ path\\nand a second line');
    expect(family(text, "h").help).toBe(help);
  });

  it("writes histograms with cumulative buckets, +Inf, _sum and _count, labelled too", () => {
    const text = prometheusText([
      { name: "d_seconds", help: "d", type: "histogram", samples: [{ labels: { peer: 'p"1' }, buckets: [0.1, 1], counts: [1, 3], sum: 6.05, count: 4 }] },
    ]);
    expect(text).toContain('d_seconds_bucket{peer="p\\"1",le="0.1"} 1\n');
    expect(text).toContain('d_seconds_bucket{peer="p\\"1",le="+Inf"} 4\n');
    expect(text).toContain('d_seconds_sum{peer="p\\"1"} 6.05\n');
    const unlabelled = prometheusText([{ name: "d_seconds", help: "d", type: "histogram", samples: [{ buckets: [0.1, 1], counts: [1, 3], sum: 6.05, count: 4 }] }]);
    expect(family(unlabelled, "d_seconds").metrics[0]).toEqual({ buckets: { "0.1": "1", "1": "3", "+Inf": "4" }, sum: "6.05", count: "4" });
  });

  it("spells NaN and the infinities as Prometheus reads them", () => {
    expect([NaN, Infinity, -Infinity, 0.5, -2].map(formatValue)).toEqual(["NaN", "+Inf", "-Inf", "0.5", "-2"]);
  });

  it("refuses invalid or repeated names with INVALID_METRIC_NAME and writes nothing", () => {
    const g = (name: string, labels?: Record<string, string>): MetricFamily => ({ name, help: "h", type: "gauge", samples: [{ labels, value: 1 }] });
    expect(codeOf(() => prometheusText([g("ok_name:sub")]))).toBeUndefined();
    for (const bad of ["", "1abc", "a-b", "a b", "a\nb", 'a"b', "a{b}"]) expect(codeOf(() => prometheusText([g(bad)])), bad).toBe("INVALID_METRIC_NAME");
    for (const bad of ["", "1a", "a-b", "a:b", "__reserved", 'x"y']) expect(codeOf(() => prometheusText([g("m", { [bad]: "v" })])), bad).toBe("INVALID_METRIC_NAME");
    expect(codeOf(() => prometheusText([g("m"), g("m")]))).toBe("INVALID_METRIC_NAME");
    const le: MetricFamily = { name: "h", help: "h", type: "histogram", samples: [{ labels: { le: "1" }, buckets: [1], counts: [0], sum: 0, count: 0 }] };
    expect(codeOf(() => prometheusText([le]))).toBe("INVALID_METRIC_NAME");
  });
});

describe("Metrics and Histogram", () => {
  it("counts observations in cumulative buckets; buckets must increase", () => {
    const h = new Histogram("replic_x_seconds", "x", [0.1, 1]);
    for (const v of [0.05, 0.5, 0.5, 5, NaN]) h.observe(v);
    expect(family(h.text(), "replic_x_seconds").metrics[0]).toEqual({ buckets: { "0.1": "1", "1": "3", "+Inf": "4" }, count: "4", sum: "6.05" });
    expect(() => new Histogram("y", "y", [1, 0.5])).toThrow(RangeError);
    expect(() => new Histogram("y", "y", [])).toThrow(RangeError);
  });

  it("keeps labelled series apart whatever the label order, and escapes their values", () => {
    const m = new Metrics();
    m.declare("messages_in_total", "counter", "m");
    m.inc("messages_in_total", 2, { kind: 'a"b', peer: 1 });
    m.inc("messages_in_total", 3, { peer: 1, kind: 'a"b' });
    m.inc("messages_in_total", 1, { kind: "c\nd", peer: 1 });
    const f = family(m.text(), "replic_messages_in_total");
    expect(f.metrics).toEqual([
      { labels: { kind: 'a"b', peer: "1" }, value: "5" },
      { labels: { kind: "c\nd", peer: "1" }, value: "1" },
    ]);
  });

  it("a histogram family is exposed empty before its first observation", () => {
    const m = new Metrics();
    m.declare("merge_batch_duration_seconds", "histogram", "h", [0.5, 1]);
    expect(family(m.text(), "replic_merge_batch_duration_seconds").metrics[0]).toEqual({ buckets: { "0.5": "0", "1": "0", "+Inf": "0" }, count: "0", sum: "0" });
    m.observe("merge_batch_duration_seconds", 0.7);
    expect(m.get("merge_batch_duration_seconds")).toBe(1);
    m.declare("peers", "gauge", "p");
    expect(() => m.observe("peers", 1)).toThrow(/not a histogram/);
    expect(() => m.inc("merge_batch_duration_seconds")).toThrow(/histogram/);
  });
});

describe("replica.metrics(): the merge-batch histogram", () => {
  const MIGRATION = {
    up: `CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT);
         CREATE TABLE t_patches (id TEXT, v TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL,
           _peerId INTEGER NOT NULL, _nulls TEXT, PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID;`,
    down: "DROP TABLE t_patches; DROP TABLE t;",
  };

  function pair() {
    const a = createReplica(testDriver(), { peerId: 1, heartbeatMs: 0 });
    const b = createReplica(testDriver(), { peerId: 2, heartbeatMs: 0 });
    a.migrate([MIGRATION]);
    b.migrate([MIGRATION]);
    const sent: Uint8Array[] = [];
    a.addPeer(2, (m) => sent.push(m));
    b.addPeer(1, () => {});
    return { a, b, sent };
  }

  const batches = (text: string) => {
    const f = family(text, "replic_merge_batch_duration_seconds");
    expect(f.type).toBe("HISTOGRAM");
    const s = f.metrics[0]!;
    const counts = Object.entries(s.buckets!)
      .sort(([x], [y]) => (x === "+Inf" ? 1 : y === "+Inf" ? -1 : Number(x) - Number(y)))
      .map(([, n]) => Number(n));
    // Cumulative: never decreasing, ending at the count.
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    expect(Number(s.buckets!["+Inf"])).toBe(Number(s.count));
    return { count: Number(s.count), sum: Number(s.sum) };
  };

  it("observes every received patches message that merged, and nothing else", () => {
    const { a, b, sent } = pair();
    expect(batches(b.metrics())).toEqual({ count: 0, sum: 0 });

    a.upsert("t", { id: "x", v: 'hostile "value"\n' });
    a.upsertMany("t", [{ id: "y", v: "1" }, { id: "z", v: "2" }]);
    const patches = sent.splice(0);
    expect(patches).toHaveLength(2);
    for (const m of patches) b.receive(1, m);
    const after = batches(b.metrics());
    expect(after.count).toBe(2);
    expect(after.sum).toBeGreaterThanOrEqual(0);

    // Duplicates merge nothing, a heartbeat is no merge batch, a corrupt message is refused.
    for (const m of patches) b.receive(1, m);
    b.receive(1, encodeWire({ kind: "heartbeat", clock: 1, heads: [] }));
    const corrupt = patches[0]!.slice();
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect(() => b.receive(1, corrupt)).toThrow();
    expect(batches(b.metrics()).count).toBe(2);

    a.upsert("t", { id: "x", v: "again" });
    for (const m of sent.splice(0)) b.receive(1, m);
    expect(batches(b.metrics()).count).toBe(3);
    // The sender merged nothing remote.
    expect(batches(a.metrics()).count).toBe(0);
    a.close();
    b.close();
  });
});
