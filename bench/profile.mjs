#!/usr/bin/env node
// Where does the time go? Runs one workload variant under the V8 CPU profiler (node bindings
// only: better-sqlite3 and WASM) and prints the functions with the most self time.
//
//   node bench/profile.mjs local-writes node replic.batched
//   node bench/profile.mjs remote-merge wasm replic.merge --size 100000
//
// Native SQLite work shows up under the binding's JS entry points (better-sqlite3's `run`/`get`/
// `all`, node-sqlite3-wasm's wasm functions), JavaScript under its own names.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FULL } from "./lib/config.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const [workload = "local-writes", binding = "node", variant, ...rest] = process.argv.slice(2);
if (binding === "bun") throw new Error("profile.mjs uses V8's profiler: node bindings only (node, wasm)");
const sizeArg = rest.indexOf("--size");
const size = sizeArg >= 0 ? Number(rest[sizeArg + 1]) : 100_000;
const top = 30;

const dir = mkdtempSync(join(os.tmpdir(), "replic-profile-"));
const cfg = {
  workload,
  binding,
  size,
  tmpDir: dir,
  runs: 1,
  warmup: 1,
  only: variant ? [variant] : undefined,
  sizes: structuredClone(FULL.sizes),
};
cfg.sizes.localWrites = { batched: size, single: Math.min(size, 20_000) };
const r = spawnSync(process.execPath, ["--expose-gc", "--cpu-prof", "--cpu-prof-dir", dir, join(here, "child.mjs"), JSON.stringify(cfg)], {
  stdio: ["ignore", "ignore", "inherit"],
});
if (r.status !== 0) console.error(`child exited ${r.status}`);
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
const prof = JSON.parse(readFileSync(join(dir, file), "utf8"));
rmSync(dir, { recursive: true, force: true });

// Self time per node, from the sample deltas.
const self = new Map();
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const agg = new Map();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const where = cf.url ? `${cf.url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "").replace(/.*\/work\/main\//, "")}:${cf.lineNumber + 1}` : "";
  const key = `${cf.functionName || "(anonymous)"}  ${where}`;
  agg.set(key, (agg.get(key) ?? 0) + us);
  total += us;
}
const rows = [...agg].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`\nself time, ${workload}/${binding}${variant ? `/${variant}` : ""} (warm-up + 1 run), total ${(total / 1e6).toFixed(2)} s`);
for (const [k, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
