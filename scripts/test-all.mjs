#!/usr/bin/env node
// Runs the whole suite through turbo (build, typecheck, then every package's tests under its
// runtime: vitest on Node, bun test under Bun), then prints one total line from the runners'
// own result files: "replic: N passed, N failed, N skipped".
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
const packages = ["packages/core", "packages/adapter-node", "packages/adapter-wasm", "packages/adapter-bun", "packages/transport-ws", "packages/transport-local", "packages/transport-nats", "bench", "examples", "examples/browser"];
for (const p of packages) rmSync(join(root, p, "test-results"), { recursive: true, force: true });

const turbo = (args) => spawnSync("npx", ["turbo", ...args], { cwd: root, stdio: "inherit", env }).status ?? 1;
let failed = turbo(["run", "build", "typecheck", "--output-logs=errors-only"]) !== 0;
if (!failed) failed = turbo(["run", "test", "--concurrency=1", "--continue"]) !== 0;

let passed = 0, failures = 0, skipped = 0;
const missing = [];
for (const p of packages) {
  const dir = join(root, p, "test-results");
  const files = existsSync(dir) ? readdirSync(dir) : [];
  if (files.length === 0) missing.push(p);
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    if (f.endsWith(".json")) {
      const r = JSON.parse(text);
      passed += r.numPassedTests;
      failures += r.numFailedTests;
      skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    } else if (f.endsWith(".xml")) {
      // JUnit from bun test: count <testcase> elements and their outcomes.
      const cases = text.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
      for (const c of cases) {
        if (/<failure\b|<error\b/.test(c)) failures++;
        else if (/<skipped\b/.test(c)) skipped++;
        else passed++;
      }
    }
  }
}
if (missing.length) console.log(`no test results from: ${missing.join(", ")}`);
console.log(`replic: ${passed} passed, ${failures} failed, ${skipped} skipped`);
process.exit(failed || failures > 0 || missing.length > 0 || passed === 0 ? 1 : 0);
