/**
 * The one writer of Prometheus text exposition (format 0.0.4) for every replic package: the
 * replica's metrics, the transports' link counters, snapshot metrics, the /metrics helpers.
 * Label values escape `\`, `"` and newline; HELP text escapes `\` and newline; metric and label
 * names are checked against the format's grammar, so no input can break a scrape.
 */
import { ReplicError } from "./errors.js";

export type MetricLabels = Readonly<Record<string, string | number>>;

/** One series of a counter or gauge. */
export interface MetricSample {
  readonly labels?: MetricLabels;
  readonly value: number;
}

/** One series of a histogram: `counts[i]` observations were ≤ `buckets[i]` (cumulative). */
export interface HistogramSample {
  readonly labels?: MetricLabels;
  readonly buckets: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: "counter" | "gauge"; readonly samples: readonly MetricSample[] }
  | { readonly name: string; readonly help: string; readonly type: "histogram"; readonly samples: readonly HistogramSample[] };

/** The content type of this format, for HTTP responses. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** Valid, and not one the format reserves (`__` prefix). */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith("__");
}

/** A label value inside its double quotes. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The text of a `# HELP` line (quotes stay as they are there). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: Go's float syntax, so NaN and the infinities are spelled as Prometheus reads them. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(labels: MetricLabels | undefined, family: string, extra?: string): string {
  const parts: string[] = [];
  if (labels) {
    for (const k of Object.keys(labels)) {
      if (!isLabelName(k)) throw new ReplicError("INVALID_METRIC_NAME", `metric ${family}: invalid label name ${JSON.stringify(k)}`);
      parts.push(`${k}="${escapeLabelValue(String(labels[k]))}"`);
    }
  }
  if (extra !== undefined) parts.push(extra);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function histogramLines(name: string, s: HistogramSample, lines: string[]): void {
  if (s.labels && Object.hasOwn(s.labels, "le")) throw new ReplicError("INVALID_METRIC_NAME", `metric ${name}: a histogram cannot take the label "le"`);
  if (s.counts.length !== s.buckets.length) throw new ReplicError("INVALID_METRIC_NAME", `metric ${name}: ${s.buckets.length} buckets but ${s.counts.length} counts`);
  s.buckets.forEach((b, i) => {
    if (b !== Infinity) lines.push(`${name}_bucket${labelText(s.labels, name, `le="${formatValue(b)}"`)} ${formatValue(s.counts[i]!)}`);
  });
  lines.push(`${name}_bucket${labelText(s.labels, name, 'le="+Inf"')} ${formatValue(s.count)}`);
  const plain = labelText(s.labels, name);
  lines.push(`${name}_sum${plain} ${formatValue(s.sum)}`, `${name}_count${plain} ${formatValue(s.count)}`);
}

/**
 * The exposition of some families: each with its HELP and TYPE lines, then its samples. Throws a
 * ReplicError `INVALID_METRIC_NAME` (and returns nothing) for an invalid or repeated metric name or
 * an invalid label name.
 */
export function prometheusText(families: Iterable<MetricFamily>): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!isMetricName(f.name)) throw new ReplicError("INVALID_METRIC_NAME", `invalid metric name ${JSON.stringify(f.name)}`);
    if (seen.has(f.name)) throw new ReplicError("INVALID_METRIC_NAME", `metric ${f.name} appears twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type === "histogram") for (const s of f.samples) histogramLines(f.name, s, lines);
    else for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels, f.name)} ${formatValue(s.value)}`);
  }
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}
