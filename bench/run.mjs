#!/usr/bin/env node
// replic benchmarks — one command reproduces every number:
//
//   npm run bench                      (from the repo root: install, build, then this file)
//   node bench/run.mjs                 full run, writes bench/results/<YYYY-MM-DD>.{json,md,svg}
//   node bench/run.mjs --smoke         tiny sizes, writes to a temp dir (what CI runs)
//
// Options:
//   --only local-writes,remote-merge   run some workloads (keys: see WORKLOADS below)
//   --bindings node,bun,wasm           run some bindings
//   --runs N / --warmup N              measured / warm-up runs per figure
//   --set path=value                   override a size, e.g. --set sizes.remoteMerge.sizes=100000
//   --out DIR                          where to write the results (default bench/results, smoke: temp)
//   --date YYYY-MM-DD                  name of the results files (default: today, UTC)
//   --report FILE.json                 only rebuild FILE.md and FILE.svg from FILE.json's samples
//
// Every workload runs in a fresh child process (node for better-sqlite3 and WASM, the bun binary
// from the `bun` devDependency for bun:sqlite) so runs cannot disturb each other and peak RSS is
// per workload. Children print their samples as JSON; this process computes median/min/max,
// ratios and goals, and writes the report.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FULL, SMOKE, applyOverride } from "./lib/config.mjs";
import { BINDINGS, BINDING_RUNTIME } from "./lib/bindings.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { runToResult } from "./lib/spawn.mjs";
import { buildReport } from "./lib/report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// ------------------------------------------------------------------------------------------------
// Arguments

const argv = process.argv.slice(2);
const opts = { smoke: process.env.REPLIC_BENCH_SMOKE === "1", sets: [] };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    if (a.includes("=") && a.startsWith("--") && !a.startsWith("--set")) return a.slice(a.indexOf("=") + 1);
    return argv[++i];
  };
  if (a === "--smoke") opts.smoke = true;
  else if (a.startsWith("--only")) opts.only = val().split(",");
  else if (a.startsWith("--bindings")) opts.bindings = val().split(",");
  else if (a.startsWith("--runs")) opts.runs = Number(val());
  else if (a.startsWith("--warmup")) opts.warmup = Number(val());
  else if (a === "--set") opts.sets.push(argv[++i]);
  else if (a.startsWith("--set=")) opts.sets.push(a.slice(6));
  else if (a.startsWith("--out")) opts.out = val();
  else if (a.startsWith("--date")) opts.date = val();
  else if (a.startsWith("--report")) opts.report = val();
  else if (a === "--help" || a === "-h") {
    console.log(readHeader());
    process.exit(0);
  } else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}

function readHeader() {
  return `see the comment at the top of ${join(here, "run.mjs")} and bench/README.md`;
}

// --report FILE.json: rebuild FILE.md and FILE.svg from the samples in FILE.json (no benchmark).
if (opts.report) {
  const { readFileSync } = await import("node:fs");
  const { rebuildReport } = await import("./lib/report.mjs");
  const file = resolve(opts.report);
  const report = rebuildReport(JSON.parse(readFileSync(file, "utf8")));
  const base = file.replace(/\.json$/, "");
  writeFileSync(`${base}.json`, JSON.stringify(report.json, null, 2) + "\n");
  writeFileSync(`${base}.md`, report.markdown);
  writeFileSync(`${base}.svg`, report.svg);
  console.error(`rebuilt ${base}.md and ${base}.svg`);
  process.exit(0);
}

const cfg = structuredClone(opts.smoke ? SMOKE : FULL);
if (opts.runs !== undefined) cfg.runs = opts.runs;
if (opts.warmup !== undefined) cfg.warmup = opts.warmup;
for (const s of opts.sets) applyOverride(cfg, s);
const bindings = opts.bindings ?? BINDINGS;
for (const b of bindings) if (!BINDINGS.includes(b)) throw new Error(`unknown binding ${b}`);

const date = opts.date ?? new Date().toISOString().slice(0, 10);
const outDir = resolve(opts.out ?? (opts.smoke ? mkdtempSync(join(os.tmpdir(), "replic-bench-smoke-")) : join(here, "results")));
mkdirSync(outDir, { recursive: true });
const scratch = mkdtempSync(join(os.tmpdir(), "replic-bench-db-"));

const bunPath = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");

// ------------------------------------------------------------------------------------------------
// Plan: one job per (workload, binding[, size]).

const WORKLOADS = ["local-writes", "remote-merge", "crsqlite", "catchup", "gap-repair", "wire-size", "memory", "open"];
const selected = opts.only ?? WORKLOADS;
for (const w of selected) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);

const jobs = [];
const want = (w) => selected.includes(w);
for (const binding of bindings) {
  if (want("local-writes")) jobs.push({ workload: "local-writes", binding });
}
for (const binding of bindings) {
  if (want("remote-merge"))
    for (const size of cfg.sizes.remoteMerge.sizes) {
      const rm = cfg.sizes.remoteMerge;
      jobs.push({
        workload: "remote-merge",
        binding,
        size,
        runs: rm.runs?.[size] ?? cfg.runs,
        warmup: rm.warmup?.[size] ?? cfg.warmup,
      });
    }
}
if (want("crsqlite") && bindings.includes("wasm"))
  jobs.push({ workload: "crsqlite", binding: "wasm", runs: cfg.sizes.crsqlite.runs ?? cfg.runs });
if (want("wire-size")) jobs.push({ workload: "wire-size", binding: bindings.includes("node") ? "node" : bindings[0], runs: 1, warmup: 0 });
for (const binding of bindings) {
  if (want("memory")) jobs.push({ workload: "memory", binding, runs: 1, warmup: 0 });
}
for (const binding of bindings) {
  if (want("catchup")) jobs.push({ workload: "catchup", binding, runs: cfg.sizes.catchup.runs ?? cfg.runs, warmup: 0 });
}
for (const binding of bindings) {
  if (want("open")) jobs.push({ workload: "open", binding, runs: cfg.sizes.open.runs ?? cfg.runs, warmup: 0 });
}
for (const binding of bindings) {
  if (want("gap-repair")) jobs.push({ workload: "gap-repair", binding, runs: cfg.sizes.gapRepair.runs ?? cfg.runs });
}

// ------------------------------------------------------------------------------------------------
// Execution

function runChild(job) {
  const childCfg = {
    runs: cfg.runs,
    warmup: cfg.warmup,
    sizes: cfg.sizes,
    smoke: opts.smoke,
    tmpDir: scratch,
    bunPath,
    nodePath: process.execPath,
    ...job,
  };
  const runtime = BINDING_RUNTIME[job.binding];
  const cmd = runtime === "bun" ? bunPath : process.execPath;
  const args = runtime === "bun" ? [] : ["--expose-gc"];
  args.push(join(here, "child.mjs"), JSON.stringify(childCfg));
  const timeoutMs = (opts.smoke ? 120 : 900) * 1000;
  const t0 = Date.now();
  return runToResult(cmd, args, { cwd: here, timeoutMs }).then((result) => ({ ...result, wallSeconds: (Date.now() - t0) / 1000 }));
}

const started = Date.now();
console.error(`replic bench: ${opts.smoke ? "SMOKE" : "full"} run, ${jobs.length} jobs, bindings ${bindings.join(", ")}`);
console.error(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`);
const machine = describeMachine(bunPath);
const results = [];
for (const job of jobs) {
  const label = `${job.workload} / ${job.binding}${job.size ? ` / ${job.size.toLocaleString("en-US")}` : ""}`;
  console.error(`\n▶ ${label}`);
  const r = await runChild(job);
  console.error(`  ${r.ok ? "done" : "FAILED"} in ${r.wallSeconds.toFixed(1)} s${r.ok ? "" : `: ${String(r.error).split("\n")[0]}`}`);
  results.push({ job, result: r });
}
rmSync(scratch, { recursive: true, force: true });

// ------------------------------------------------------------------------------------------------
// Report

machine.loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
const report = buildReport({
  date,
  mode: opts.smoke ? "smoke" : "full",
  machine,
  config: cfg,
  bindings,
  results,
  totalSeconds: (Date.now() - started) / 1000,
});
const base = join(outDir, date);
writeFileSync(`${base}.json`, JSON.stringify(report.json, null, 2) + "\n");
writeFileSync(`${base}.md`, report.markdown);
writeFileSync(`${base}.svg`, report.svg);
console.log(report.markdown);
console.error(`\nwrote ${base}.json, ${base}.md, ${base}.svg in ${((Date.now() - started) / 1000).toFixed(0)} s`);
const failed = results.filter((r) => !r.result.ok).length + report.json.errors.length;
process.exitCode = failed ? 1 : 0;
