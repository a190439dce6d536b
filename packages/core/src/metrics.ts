/**
 * Counters, gauges and histograms of a replica, no dependencies. The names are those of the
 * catalogue in metric-names.ts; prometheus-text.ts writes them out.
 */
import type { MetricName } from "./metric-names.js";
import { prometheusText, type HistogramSample, type MetricFamily, type MetricLabels } from "./prometheus-text.js";

type Labels = MetricLabels;
export type MetricType = "counter" | "gauge" | "histogram";

/** Seconds: from half a millisecond (a small batch) to 2.5 s (a long catch-up window). */
export const DEFAULT_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  labels: Labels | undefined;
  value: number;
}

/**
 * A Prometheus histogram in base units: cumulative buckets, sum and count. Used for the replica's
 * own histograms and usable on its own (`text()`) for extra families next to `metrics()`.
 */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = DEFAULT_BUCKETS,
  ) {
    if (buckets.length === 0 || !buckets.every((b, i) => Number.isFinite(b) && (i === 0 || b > buckets[i - 1]!))) {
      throw new RangeError(`histogram ${name}: buckets must be finite and increase`);
    }
    this.counts = buckets.map(() => 0);
  }

  /** Counts one observation (a non-finite value is ignored). */
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }

  sample(labels?: Labels): HistogramSample {
    return { labels, buckets: this.buckets, counts: this.counts, sum: this.sum, count: this.count };
  }

  text(): string {
    return prometheusText([{ name: this.name, help: this.help, type: "histogram", samples: [this.sample()] }]);
  }
}

interface HistogramSeries {
  labels: Labels | undefined;
  h: Histogram;
}

type Family =
  | { help: string; type: "counter" | "gauge"; series: Map<string, Series> }
  | { help: string; type: "histogram"; buckets: readonly number[]; series: Map<string, HistogramSeries> };

/** The map key of a label set: the same for the same labels in any order. */
function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  // One label (a peer, a kind) is the common case, set on every message: no JSON for it.
  if (keys.length === 1) return `${keys[0]!}\u0000${String(labels[keys[0]!])}`;
  return JSON.stringify(keys.sort().map((k) => [k, String(labels[k])]));
}

export class Metrics {
  private readonly families = new Map<MetricName, Family>();

  constructor(private readonly prefix = "replic_") {}

  /** Declares a family so it is exposed (as 0, or an empty histogram) before its first event. */
  declare(name: MetricName, type: MetricType, help: string, buckets: readonly number[] = DEFAULT_BUCKETS): void {
    if (this.families.has(name)) return;
    if (type === "histogram") {
      const series = new Map<string, HistogramSeries>([["", { labels: undefined, h: new Histogram(name, help, buckets) }]]);
      this.families.set(name, { help, type, buckets, series });
    } else {
      this.families.set(name, { help, type, series: new Map([["", { labels: undefined, value: 0 }]]) });
    }
  }

  private scalar(name: MetricName): Map<string, Series> {
    const f = this.families.get(name);
    if (!f) throw new Error(`undeclared metric ${name}`);
    if (f.type === "histogram") throw new Error(`metric ${name} is a histogram: observe() it`);
    return f.series;
  }

  inc(name: MetricName, by = 1, labels?: Labels): void {
    const series = this.scalar(name);
    const k = labelKey(labels);
    const s = series.get(k);
    if (s) s.value += by;
    else series.set(k, { labels: labels && { ...labels }, value: by });
  }

  set(name: MetricName, value: number, labels?: Labels): void {
    const series = this.scalar(name);
    const k = labelKey(labels);
    const s = series.get(k);
    if (s) s.value = value;
    else series.set(k, { labels: labels && { ...labels }, value });
  }

  /** Counts one observation into a histogram (a non-finite value is ignored). */
  observe(name: MetricName, value: number, labels?: Labels): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`undeclared metric ${name}`);
    if (f.type !== "histogram") throw new Error(`metric ${name} is a ${f.type}, not a histogram`);
    const k = labelKey(labels);
    let s = f.series.get(k);
    if (!s) f.series.set(k, (s = { labels: labels && { ...labels }, h: new Histogram(name, f.help, f.buckets) }));
    s.h.observe(value);
  }

  /** Drops one labelled series (for example of a peer that was removed). */
  drop(name: MetricName, labels: Labels): void {
    this.families.get(name)?.series.delete(labelKey(labels));
  }

  /** Drops every series of a family. */
  clear(name: MetricName): void {
    this.families.get(name)?.series.clear();
  }

  /** A counter's or gauge's value; a histogram's observation count. */
  get(name: MetricName, labels?: Labels): number {
    const s = this.families.get(name)?.series.get(labelKey(labels));
    if (!s) return 0;
    return "value" in s ? s.value : s.h.count;
  }

  text(): string {
    const out: MetricFamily[] = [];
    for (const [name, f] of this.families) {
      const full = this.prefix + name;
      if (f.type === "histogram") {
        const samples: HistogramSample[] = [];
        for (const [k, s] of f.series) {
          if (k === "" && f.series.size > 1 && s.h.count === 0) continue; // placeholder once labelled series exist
          samples.push(s.h.sample(s.labels));
        }
        out.push({ name: full, help: f.help, type: "histogram", samples });
        continue;
      }
      const samples: { labels: Labels | undefined; value: number }[] = [];
      for (const [k, s] of f.series) {
        if (k === "" && f.series.size > 1 && s.value === 0) continue; // placeholder once labelled series exist
        samples.push({ labels: s.labels, value: Number.isFinite(s.value) ? s.value : 0 });
      }
      out.push({ name: full, help: f.help, type: f.type, samples });
    }
    return prometheusText(out);
  }
}
