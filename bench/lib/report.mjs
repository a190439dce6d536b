// Turns the children's raw samples into figures (median/min/max), ratios, goals, a Markdown
// report and an SVG chart. Goals are reported against, never asserted.
import { BINDING_LABEL } from "./bindings.mjs";
import { pairedRatios, summarize } from "./stats.mjs";

const MB = 1024 * 1024;

/**
 * Per workload: figures (metric key -> label, unit) and ratios (numerator / denominator metric,
 * computed per interleaved round, so min/max show the spread of the ratio itself).
 * `lowerIsBetter` goals are met when the median is <= the target.
 */
const SPEC = {
  "local-writes": {
    title: "1. Local writes",
    figures: {
      "raw.batched": ["raw upsert, batched (1 tx)", "rows/s"],
      "replic.batched": ["replic upsert, batched (1 tx)", "rows/s"],
      "bound.batched": ["SQL-only bound of replic upsert, batched (its statements replayed)", "rows/s"],
      "replic.many": ["replic upsertMany (1 call)", "rows/s"],
      "bound.many": ["SQL-only bound of replic upsertMany (its statements replayed)", "rows/s"],
      "raw.single": ["raw upsert, autocommit (1 tx each)", "rows/s"],
      "replic.single": ["replic upsert, single (1 tx each)", "rows/s"],
      "bound.single": ["SQL-only bound of replic upsert, single (its statements replayed)", "rows/s"],
    },
    ratios: [
      { num: "replic.batched", den: "raw.batched", label: "batched replic / raw", goal: 0.45 },
      { num: "bound.batched", den: "raw.batched", label: "batched SQL-only bound / raw" },
      { num: "replic.batched", den: "bound.batched", label: "batched replic / SQL-only bound", goal: 0.9 },
      { num: "replic.many", den: "raw.batched", label: "upsertMany replic / raw batched", goal: 0.5 },
      { num: "bound.many", den: "raw.batched", label: "upsertMany SQL-only bound / raw batched" },
      { num: "replic.many", den: "bound.many", label: "upsertMany replic / SQL-only bound", goal: 0.9 },
      { num: "replic.single", den: "raw.single", label: "single replic / raw autocommit" },
      // Issue 8: the SQL of a single upsert itself made cheaper than today's bound of 0.32 × raw.
      { num: "bound.single", den: "raw.single", label: "single SQL-only bound / raw autocommit", goal: 0.32, exclusive: true, bindings: ["node", "bun"] },
      { num: "replic.single", den: "bound.single", label: "single replic / SQL-only bound", goal: 0.9 },
    ],
  },
  "remote-merge": {
    title: "2. Remote merge",
    figures: {
      "raw.batched": ["raw upsert of the same rows, batched like the messages", "rows/s"],
      "replic.merge": ["replic receive(): decode + merge", "patches/s"],
      "bound.merge": ["SQL-only bound of receive() (its statements replayed)", "patches/s"],
    },
    ratios: [
      { num: "replic.merge", den: "raw.batched", label: "merge / raw batched upsert", goal: 0.45 },
      { num: "bound.merge", den: "raw.batched", label: "merge SQL-only bound / raw batched upsert" },
      { num: "replic.merge", den: "bound.merge", label: "merge replic / SQL-only bound", goal: 0.9 },
    ],
  },
  crsqlite: {
    title: "3. Side by side with cr-sqlite (WASM in Node)",
    figures: {
      "replic.raw": ["raw upsert, node-sqlite3-wasm (calibration)", "rows/s"],
      "replic.insert": ["replic upsert, batched (node-sqlite3-wasm)", "rows/s"],
      "replic.merge": ["replic merge of those writes (node-sqlite3-wasm)", "rows/s"],
      "cr.raw": ["raw upsert, cr-sqlite build (calibration)", "rows/s"],
      "cr.insert": ["cr-sqlite insert into a CRR, batched", "rows/s"],
      "cr.merge": ["cr-sqlite merge (INSERT INTO crsql_changes)", "rows/s"],
    },
    ratios: [
      { num: "replic.insert", den: "cr.insert", label: "local writes replic / cr-sqlite" },
      { num: "replic.merge", den: "cr.merge", label: "merge replic / cr-sqlite", goal: 10 },
      { num: "replic.raw", den: "cr.raw", label: "raw binding node-sqlite3-wasm / cr-sqlite build (calibration)" },
    ],
  },
  catchup: {
    title: "4. Catch-up over a loopback WebSocket",
    figures: {
      seconds: ["seconds until converged", "s"],
      rate: ["catch-up rate", "patches/s"],
      senderPeakRss: ["peak RSS, sending process", "MB"],
      receiverPeakRss: ["peak RSS, receiving process", "MB"],
      receiverMemoryDbPeakRss: ["peak RSS, receiving process, :memory: database (WASM, reference)", "MB"],
      receiverMemoryDbBytes: ["of which that :memory: database", "MB"],
    },
    ratios: [],
    goals: [
      { metric: "seconds", label: "catch-up time (earlier goal)", goal: 10, lowerIsBetter: true, onlyAt: "full" },
      { metric: "senderPeakRss", label: "peak RSS sender (earlier goal)", goal: 300, lowerIsBetter: true },
      // Issue 8 sets the WASM receiver's goal; the others keep the earlier one.
      { metric: "receiverPeakRss", label: "peak RSS receiver, WASM", goal: 200, lowerIsBetter: true, bindings: ["wasm"] },
      { metric: "receiverPeakRss", label: "peak RSS receiver (earlier goal)", goal: 300, lowerIsBetter: true, bindings: ["node", "bun"] },
    ],
  },
  "gap-repair": {
    title: "5. Gap detection and repair",
    figures: {
      detectSeconds: ["time to detect every gap", "s"],
      repairSeconds: ["time to detect and repair every gap", "s"],
      missing: ["patches withheld", "patches"],
    },
    ratios: [],
  },
  "wire-size": {
    title: "6. Wire size",
    figures: {
      "replic.bytesPerPatch": ["replic wire format", "bytes/patch"],
      "json.bytesPerPatch": ["the same patches as JSON", "bytes/patch"],
    },
    ratios: [{ num: "replic.bytesPerPatch", den: "json.bytesPerPatch", label: "wire / JSON (earlier goal)", goal: 0.4, lowerIsBetter: true }],
  },
  memory: {
    title: "7. Memory (remote merge)",
    figures: {
      peakRss: ["peak RSS of the merging process", "MB"],
      baselineRss: ["RSS before merging (runtime + input messages)", "MB"],
      rate: ["merge rate in this run", "patches/s"],
      dbBytes: ["of which the :memory: database (WASM)", "MB"],
    },
    ratios: [],
  },
  open: {
    title: "8. openReplica on a large database",
    figures: {
      "replic.cold": ["open + openReplica, first in a fresh process (cold)", "ms"],
      "replic.warm": ["open + openReplica, again in the same process (warm)", "ms"],
      "replic.coldCpu": ["CPU time of the cold open", "ms"],
      "replic.warmCpu": ["CPU time of a warm open", "ms"],
      "raw.cold": ["raw open + first schema read, fresh process (the floor)", "ms"],
      "raw.warm": ["raw open + first schema read, again", "ms"],
      "raw.coldCpu": ["CPU time of the raw cold open", "ms"],
      "bound.cold": ["SQL-only bound: the open's statements replayed, fresh process", "ms"],
      "bound.warm": ["SQL-only bound: the open's statements replayed, again", "ms"],
      "bound.coldCpu": ["CPU time of the cold replay", "ms"],
    },
    ratios: [
      // Times: bound / replic is the share of replic's open that SQLite needs (1 = all of it).
      { num: "bound.cold", den: "replic.cold", label: "cold open: SQL-only bound time / replic time" },
      { num: "bound.warm", den: "replic.warm", label: "warm open: SQL-only bound time / replic time" },
    ],
    goals: [
      { metric: "replic.cold", label: "openReplica, cold process", goal: 100, lowerIsBetter: true },
      { metric: "replic.warm", label: "openReplica, warm", goal: 100, lowerIsBetter: true },
    ],
  },
};

/**
 * The paths of issue 8, side by side: replic / raw, SQL-only bound / raw, replic / bound, and
 * replic / cr-sqlite where cr-sqlite runs (WASM; its own workload, same rows).
 */
const PATHS = [
  { path: "`upsert` × N in one `transaction()`", workload: "local-writes", replic: "replic.batched", raw: "raw.batched", bound: "bound.batched", cr: ["replic.insert", "cr.insert"] },
  { path: "`upsertMany`", workload: "local-writes", replic: "replic.many", raw: "raw.batched", bound: "bound.many" },
  { path: "single `upsert` (1 tx each)", workload: "local-writes", replic: "replic.single", raw: "raw.single", bound: "bound.single" },
  { path: "`receive()`: decode + merge", workload: "remote-merge", replic: "replic.merge", raw: "raw.batched", bound: "bound.merge", cr: ["replic.merge", "cr.merge"] },
];

export function buildReport({ date, mode, machine, config, bindings, results, totalSeconds }) {
  const figures = [];
  const ratios = [];
  const errors = [];
  const notes = [];
  const raw = [];

  for (const { job, result } of results) {
    const spec = SPEC[job.workload];
    const where = { workload: job.workload, title: spec.title, binding: job.binding, size: job.size ?? null };
    // Everything a child reported (but its long version list), so the report can be rebuilt.
    const { versions: _versions, ...kept } = result;
    raw.push({ ...where, job, result: kept });
    if (!result.ok) {
      errors.push({ ...where, error: result.error });
      continue;
    }
    for (const n of result.notes ?? []) notes.push(`${spec.title} (${BINDING_LABEL[job.binding]}): ${n}`);
    const m = result.metrics ?? {};
    for (const [key, [label, unit]] of Object.entries(spec.figures)) {
      const entry = m[key];
      if (!entry) continue;
      if (entry.error) {
        errors.push({ ...where, metric: key, error: entry.error });
        continue;
      }
      if (entry.skipped) {
        notes.push(`${spec.title} (${BINDING_LABEL[job.binding]}): ${label} not measured: ${entry.skipped}`);
        continue;
      }
      const samples = unit === "MB" ? entry.samples.map((x) => x / MB) : entry.samples;
      figures.push({ ...where, key, label, unit, ...summarize(samples), count: entry.count ?? result.params?.count ?? null });
    }
    for (const r of spec.ratios) {
      const a = m[r.num];
      const b = m[r.den];
      if (!a?.samples?.length || !b?.samples?.length) continue;
      const s = summarize(pairedRatios(a.samples, b.samples));
      const g = goalFor(r, job.binding, mode);
      ratios.push({ ...where, label: r.label, num: r.num, den: r.den, ...s, goal: g?.goal ?? null, lowerIsBetter: !!r.lowerIsBetter, exclusive: !!r.exclusive, met: g ? goalMet(s.median, g) : null });
    }
    for (const g of spec.goals ?? []) {
      if (g.bindings && !g.bindings.includes(job.binding)) continue;
      const f = figures.find((x) => x.workload === job.workload && x.binding === job.binding && x.size === where.size && x.key === g.metric);
      if (!f) continue;
      const applies = goalFor(g, job.binding, mode);
      ratios.push({ ...where, label: g.label, num: g.metric, den: null, median: f.median, min: f.min, max: f.max, n: f.n, unit: f.unit, goal: applies ? g.goal : null, lowerIsBetter: !!g.lowerIsBetter, met: applies ? goalMet(f.median, g) : null });
    }
  }

  // Workload order (titles start with their number); stable, so bindings keep their order.
  const byWorkload = (a, b) => parseInt(a.title) - parseInt(b.title);
  figures.sort(byWorkload);
  ratios.sort(byWorkload);
  notes.sort((a, b) => parseInt(a) - parseInt(b));
  const json = { date, mode, machine, config, bindings, totalSeconds, figures, ratios, errors, notes, raw };
  return { json, markdown: markdown(json), svg: svg(json) };
}

/** The goal `g` when it applies to this binding and mode (else null). */
function goalFor(g, binding, mode) {
  if (g.goal === undefined || g.goal === null) return null;
  if (g.bindings && !g.bindings.includes(binding)) return null;
  if (g.onlyAt && g.onlyAt !== mode) return null;
  return g;
}

function goalMet(value, g) {
  if (g.goal === undefined || g.goal === null || !Number.isFinite(value)) return null;
  if (g.exclusive) return g.lowerIsBetter ? value < g.goal : value > g.goal;
  return g.lowerIsBetter ? value <= g.goal : value >= g.goal;
}

// ------------------------------------------------------------------------------------------------
// Markdown

function num(x, unit) {
  if (!Number.isFinite(x)) return "–";
  if (unit === "s") return x < 10 ? x.toFixed(2) : x.toFixed(1);
  if (unit === "MB") return x.toFixed(0);
  if (unit === "bytes/patch") return x.toFixed(1);
  if (unit === "ratio") return x < 10 ? x.toFixed(2) : x.toFixed(1);
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  return x.toPrecision(3);
}

function where(x) {
  return `${BINDING_LABEL[x.binding] ?? x.binding}${x.size ? `, ${x.size.toLocaleString("en-US")}` : ""}`;
}

function goalText(r) {
  if (r.goal === null) return "–";
  const unit = r.unit && r.unit !== "ratio" ? ` ${r.unit}` : r.den ? "×" : "";
  const op = r.lowerIsBetter ? (r.den && !r.exclusive ? "≤" : "<") : r.exclusive ? ">" : "≥";
  return `${op} ${r.goal}${unit}`;
}

function markdown(j) {
  const m = j.machine;
  const L = [];
  L.push(`# replic benchmarks — ${j.date}${j.mode === "smoke" ? " (SMOKE sizes: not representative)" : ""}`);
  L.push("");
  L.push(`Machine: ${m.cpuModel} × ${m.cpuCount} cores, ${m.memoryGiB} GiB RAM, ${m.os}, ${m.arch}.`);
  L.push(`Runtimes: Node ${m.node} (V8 ${m.v8}), Bun ${m.bun ?? "?"}. SQLite: better-sqlite3 ${m.packages["better-sqlite3"]} → ${m.sqlite["better-sqlite3"]}, bun:sqlite → ${m.sqlite["bun:sqlite"]}, node-sqlite3-wasm ${m.packages["node-sqlite3-wasm"]} → ${m.sqlite["node-sqlite3-wasm"]}; cr-sqlite: @vlcn.io/crsqlite-wasm ${m.packages["@vlcn.io/crsqlite-wasm"]} (wa-sqlite ${m.packages["@vlcn.io/wa-sqlite"]}).`);
  L.push(`Load average (1, 5, 15 min) at start: ${m.loadAverageAtStart.join(", ")}${m.loadAverageAtEnd ? `; at end: ${m.loadAverageAtEnd.join(", ")}` : ""} (${m.cpuCount} cores: above ${m.cpuCount} means other processes competed for the CPU). Total time ${Math.round(j.totalSeconds)} s.`);
  L.push("");
  L.push(`Each figure is the median of several measured runs (column *n*; warm-up runs discarded, counts under Sizes), with the min and max. Ratios are computed per run (replic and its baseline run interleaved, in the same process, on fresh databases) and summarised the same way. File databases use WAL + synchronous=NORMAL on better-sqlite3 and bun:sqlite; WASM uses \`:memory:\` for both sides, except the catch-up receiver, which uses a file on every binding (one WASM reference run keeps \`:memory:\`). See bench/README.md for what each workload does.`);
  L.push("");
  L.push("## Ratios and goals");
  L.push("");
  L.push("| Workload | Binding | Measure | Median | Min | Max | Goal | Met |");
  L.push("|---|---|---|---:|---:|---:|---|---|");
  for (const r of j.ratios) {
    const unit = r.unit ?? "ratio";
    const suffix = unit === "ratio" ? "×" : ` ${unit}`;
    L.push(`| ${r.title} | ${where(r)} | ${r.label} | ${num(r.median, unit)}${suffix} | ${num(r.min, unit)} | ${num(r.max, unit)} | ${goalText({ ...r, unit })} | ${r.met === null ? "–" : r.met ? "yes" : "**no**"} |`);
  }
  L.push("");
  const side = sideBySide(j);
  if (side.length) {
    L.push("## Paths side by side (issue 8)");
    L.push("");
    L.push("Medians of the per-round ratios above. The SQL-only bound is replic's own statements of the path, recorded and replayed without replic (bench/README.md); replic / bound is the share of it replic keeps (goal ≥ 0.9).");
    L.push("");
    L.push("| Path | Binding | replic / raw | SQL-only bound / raw | replic / bound | replic / cr-sqlite |");
    L.push("|---|---|---:|---:|---:|---:|");
    for (const r of side) L.push(`| ${r.path} | ${r.where} | ${r.cells.join(" | ")} |`);
    L.push("");
  }
  L.push("## Figures");
  L.push("");
  L.push("| Workload | Binding | Figure | Median | Min | Max | Unit | n |");
  L.push("|---|---|---|---:|---:|---:|---|---:|");
  for (const f of j.figures) {
    L.push(`| ${f.title} | ${where(f)} | ${f.label} | ${num(f.median, f.unit)} | ${num(f.min, f.unit)} | ${num(f.max, f.unit)} | ${f.unit} | ${f.n} |`);
  }
  L.push("");
  const params = paramsText(j);
  if (params.length) {
    L.push("## Sizes");
    L.push("");
    for (const p of params) L.push(`- ${p}`);
    L.push("");
  }
  if (j.notes.length) {
    L.push("## Notes");
    L.push("");
    for (const n of [...new Set(j.notes)]) L.push(`- ${n}`);
    L.push("");
  }
  if (j.errors.length) {
    L.push("## Not measured (errors)");
    L.push("");
    for (const e of j.errors) L.push(`- ${SPEC[e.workload].title} (${where(e)})${e.metric ? ` ${e.metric}` : ""}: ${String(e.error).split("\n")[0].slice(0, 300)}`);
    L.push("");
  }
  L.push(`![ratios chart](${j.date}.svg)`);
  L.push("");
  return L.join("\n");
}

/** Rows of the side-by-side table: one per path, binding and size that has a replic / raw ratio. */
function sideBySide(j) {
  const out = [];
  const cell = (r) => (r ? `${num(r.median, "ratio")}${r.met === null ? "" : r.met ? " ✓" : " ✗"}` : "–");
  for (const p of PATHS) {
    const mains = j.ratios.filter((r) => r.workload === p.workload && r.num === p.replic && r.den === p.raw);
    for (const main of mains) {
      const find = (num, den) => j.ratios.find((r) => r.workload === p.workload && r.binding === main.binding && r.size === main.size && r.num === num && r.den === den);
      const cr = p.cr && main.binding === "wasm" ? j.ratios.find((r) => r.workload === "crsqlite" && r.num === p.cr[0] && r.den === p.cr[1]) : undefined;
      out.push({ path: p.path, where: where(main), cells: [cell(main), cell(find(p.bound, p.raw)), cell(find(p.replic, p.bound)), cell(cr)] });
    }
  }
  return out;
}

/** Rebuilds the report from a results JSON written by buildReport (after changing this file). */
export function rebuildReport(json) {
  return buildReport({
    date: json.date,
    mode: json.mode,
    machine: json.machine,
    config: json.config,
    bindings: json.bindings,
    totalSeconds: json.totalSeconds,
    results: json.raw.map((r) => ({ job: r.job, result: r.result })),
  });
}

function paramsText(j) {
  const s = j.config.sizes;
  const out = [];
  const runsOf = (workload) => {
    const rs = j.raw.filter((r) => r.workload === workload && r.job);
    const set = new Set(rs.map((r) => `${r.job.runs ?? j.config.runs} run(s) after ${r.job.warmup ?? j.config.warmup} warm-up${r.size ? ` at ${r.size.toLocaleString("en-US")}` : ""}`));
    return [...set].join("; ");
  };
  const counted = ["local-writes", "remote-merge", "crsqlite", "catchup", "gap-repair", "wire-size", "memory", "open"]
    .filter((w) => j.raw.some((r) => r.workload === w))
    .map((w) => `${SPEC[w].title}: ${runsOf(w)}`);
  if (counted.length) out.push(`Runs per figure — ${counted.join(" · ")}.`);
  out.push(`Local writes: ${s.localWrites.batched.toLocaleString("en-US")} rows batched in one transaction; ${s.localWrites.single.toLocaleString("en-US")} single upserts (one transaction each).`);
  out.push(`Remote merge: ${s.remoteMerge.sizes.map((x) => x.toLocaleString("en-US")).join(" and ")} patches from one remote peer, ${s.remoteMerge.batch.toLocaleString("en-US")} patches per wire message (one receive() each); the raw baseline upserts the same rows in transactions of the same size.`);
  out.push(`cr-sqlite: ${s.crsqlite.rows.toLocaleString("en-US")} rows; merges apply ${s.crsqlite.batch.toLocaleString("en-US")} rows per transaction on both sides.`);
  if (s.remoteMerge.boundUpTo !== undefined) out.push(`SQL-only bounds: every local-writes path at its size; remote merge at sizes up to ${s.remoteMerge.boundUpTo.toLocaleString("en-US")}.`);
  if (s.open) out.push(`openReplica: a file database of ${s.open.patches.toLocaleString("en-US")} patches from ${s.open.origins} origins (and as many rows); per run one fresh process, a cold open then ${s.open.warm} warm ones, replic and raw in alternating order.`);
  out.push(`Catch-up: ${s.catchup.patches.toLocaleString("en-US")} patches; Gap repair: ${s.gapRepair.patches.toLocaleString("en-US")} patches from ${s.gapRepair.peers} peers, ${(s.gapRepair.missing * 100).toFixed(0)}% withheld; Wire size: ${s.wireSize.patches.toLocaleString("en-US")} patches; Memory: ${s.memory.patches.toLocaleString("en-US")} patches merged.`);
  return out;
}

// ------------------------------------------------------------------------------------------------
// SVG chart: one panel per ratio / goal measure, one bar per binding (and size), goal as a dashed line.

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

const COLORS = { node: "#2f6fdf", bun: "#e0a100", wasm: "#7b4fc9" };

function svg(j) {
  const groups = new Map();
  for (const r of j.ratios) {
    const key = `${r.title} — ${r.label}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const W = 960;
  const labelW = 260;
  const plotW = W - labelW - 120;
  const barH = 18;
  const gap = 6;
  const panelPad = 34;
  let y = 60;
  const parts = [];
  for (const [title, rows] of groups) {
    const unit = rows[0].unit ?? "ratio";
    const maxV = Math.max(...rows.map((r) => (Number.isFinite(r.max) ? r.max : 0)), ...rows.map((r) => r.goal ?? 0)) * 1.1 || 1;
    const sx = (v) => labelW + (Math.max(0, v) / maxV) * plotW;
    parts.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">${esc(title)}${unit === "ratio" ? " (×)" : ` (${esc(unit)})`}</text>`);
    y += 10;
    const top = y;
    for (const r of rows) {
      const color = COLORS[r.binding] ?? "#777";
      const v = r.median;
      parts.push(`<text x="${labelW - 8}" y="${y + barH - 5}" font-size="12" text-anchor="end">${esc(where(r))}</text>`);
      parts.push(`<rect x="${labelW}" y="${y}" width="${Math.max(1, sx(v) - labelW).toFixed(1)}" height="${barH}" fill="${color}" opacity="0.85"/>`);
      if (Number.isFinite(r.min) && Number.isFinite(r.max))
        parts.push(`<line x1="${sx(r.min).toFixed(1)}" x2="${sx(r.max).toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#222" stroke-width="1.5"/>`);
      const mark = r.met === null ? "" : r.met ? " ✓" : " ✗";
      parts.push(`<text x="${(sx(Math.max(v, r.max || 0)) + 6).toFixed(1)}" y="${y + barH - 5}" font-size="12">${esc(num(v, unit))}${mark}</text>`);
      y += barH + gap;
    }
    const goals = new Set(rows.filter((r) => r.goal !== null).map((r) => r.goal));
    const goal = goals.size === 1 ? [...goals][0] : undefined;
    if (goals.size > 1) {
      // Goals differ by binding: a short dashed mark on each bar's own goal.
      let yy = top;
      for (const r of rows) {
        if (r.goal !== null) {
          const gx = sx(r.goal).toFixed(1);
          parts.push(`<line x1="${gx}" x2="${gx}" y1="${yy - 2}" y2="${yy + barH + 2}" stroke="#c22" stroke-dasharray="3,2" stroke-width="1.5"/>`);
          parts.push(`<text x="${gx}" y="${yy - 3}" font-size="10" fill="#c22" text-anchor="middle">${esc(goalText({ ...r, unit }))}</text>`);
        }
        yy += barH + gap;
      }
    }
    if (goal !== undefined) {
      const gx = sx(goal).toFixed(1);
      parts.push(`<line x1="${gx}" x2="${gx}" y1="${top - 4}" y2="${y}" stroke="#c22" stroke-dasharray="5,3" stroke-width="1.5"/>`);
      parts.push(`<text x="${gx}" y="${y + 12}" font-size="11" fill="#c22" text-anchor="middle">goal ${esc(goalText({ ...rows.find((r) => r.goal !== null), unit }))}</text>`);
    }
    y += panelPad;
  }
  const H = y + 10;
  const legend = Object.entries(COLORS)
    .map(([b, c], i) => `<rect x="${10 + i * 230}" y="30" width="12" height="12" fill="${c}"/><text x="${28 + i * 230}" y="40" font-size="12">${esc(BINDING_LABEL[b])}</text>`)
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="16" font-weight="bold">replic benchmarks ${esc(j.date)}${j.mode === "smoke" ? " (smoke sizes)" : ""}: medians, whiskers min–max, dashed = goal</text>`,
    legend,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
