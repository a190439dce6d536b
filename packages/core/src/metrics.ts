/**
 * Counters and gauges with a Prometheus text exposition (format 0.0.4), no dependencies.
 * The names are those of the catalogue in metric-names.ts.
 */
import type { MetricName } from "./metric-names.js";

type Labels = Record<string, string | number>;

interface Family {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, number>;
}

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Metrics {
  private readonly families = new Map<MetricName, Family>();

  constructor(private readonly prefix = "replic_") {}

  private family(name: MetricName, type: Family["type"], help: string): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** Declares a family so it is exposed (as 0) before its first event. */
  declare(name: MetricName, type: Family["type"], help: string): void {
    const f = this.family(name, type, help);
    if (f.values.size === 0) f.values.set("", 0);
  }

  inc(name: MetricName, by = 1, labels?: Labels): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`undeclared metric ${name}`);
    const k = labelKey(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  set(name: MetricName, value: number, labels?: Labels): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`undeclared metric ${name}`);
    f.values.set(labelKey(labels), value);
  }

  /** Drops one labelled series (for example of a peer that was removed). */
  drop(name: MetricName, labels: Labels): void {
    this.families.get(name)?.values.delete(labelKey(labels));
  }

  /** Drops every series of a family. */
  clear(name: MetricName): void {
    this.families.get(name)?.values.clear();
  }

  get(name: MetricName, labels?: Labels): number {
    return this.families.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  text(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      const full = this.prefix + name;
      lines.push(`# HELP ${full} ${f.help}`, `# TYPE ${full} ${f.type}`);
      for (const [k, v] of f.values) {
        if (k === "" && f.values.size > 1 && v === 0) continue; // placeholder once labelled series exist
        lines.push(`${full}${k} ${Number.isFinite(v) ? v : 0}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
