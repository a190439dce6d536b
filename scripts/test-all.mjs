#!/usr/bin/env node
// Runs the whole suite, after the workspace install (package.json "test"; scripts/install.mjs):
//  1. the programs from Debian the suite needs (nats-server, chromium): installed with apt-get
//     when missing and running as root, otherwise one line per missing program saying what to run
//     (scripts/system-tools.mjs);
//  2. build and typecheck through turbo;
//  3. every package's tests under its runtime (vitest on Node, bun test under Bun), one package at
//     a time, keeping each runner's exit code and output;
//  4. the core's incremental mutation check (packages/core: npm run test:mutation:fast).
// Prints each failed test by name ("failed: ..."), then one total line last, "replic: N passed,
// N failed, N skipped", in which load errors, failed hooks, runners that crash before reporting
// and a failed mutation check count as failures (scripts/total.mjs; its own tests run here too,
// under node --test).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { withNodeHeaders } from "./node-headers.mjs";
import { ensureSystemTools, pathWithDebianDirs } from "./system-tools.mjs";
import { addCheck, summaryLine, tally } from "./total.mjs";

const root = new URL("..", import.meta.url).pathname;
// Debian's sbin directories for nats-server; Node's own headers for the tests that install
// tarballs and so may compile better-sqlite3 (scripts/node-headers.mjs).
const env = withNodeHeaders({ ...process.env, PATH: pathWithDebianDirs(process.env.PATH), TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" });
const packages = [
  "packages/core",
  "packages/adapter-node",
  "packages/adapter-wasm",
  "packages/adapter-bun",
  "packages/transport-ws",
  "packages/adapter-durable-object",
  "packages/transport-local",
  "packages/transport-nats",
  "packages/snapshot-s3",
  "packages/metrics-http",
  "packages/cli",
  "bench",
  "examples",
  "examples/browser",
];
for (const p of [...packages, "scripts"]) rmSync(join(root, p, "test-results"), { recursive: true, force: true });

console.log(`node ${process.version}`);
const tools = ensureSystemTools();

const turbo = (args) => spawnSync("npx", ["turbo", ...args], { cwd: root, stdio: "inherit", env }).status ?? 1;
const buildFailed = turbo(["run", "build", "typecheck", "--output-logs=errors-only"]) !== 0;

/** Runs a command, echoing its output live, and resolves with its exit code and output. */
function run(cmd, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    const keep = (stream) => (chunk) => {
      stream.write(chunk);
      log += chunk.toString("utf8");
    };
    child.stdout.on("data", keep(process.stdout));
    child.stderr.on("data", keep(process.stderr));
    child.on("error", (e) => {
      log += `\n${String(e)}\n`;
    });
    child.on("close", (code) => resolve({ exitCode: code, log }));
  });
}

const runs = [];
if (!buildFailed) {
  mkdirSync(join(root, "scripts", "test-results"), { recursive: true });
  runs.push({
    name: "scripts",
    dir: join(root, "scripts"),
    ...(await run(
      process.execPath,
      ["--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=junit", "--test-reporter-destination=test-results/node.xml", "test/"],
      join(root, "scripts"),
    )),
  });
  for (const p of packages) {
    const dir = join(root, p);
    const hasTest = Boolean(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts?.test);
    console.log(`\n=== ${p} ===`);
    runs.push({ name: p, dir, ...(hasTest ? await run("npm", ["run", "--silent", "test"], dir) : { exitCode: 1, log: "no test script" }) });
  }
}
// Not a test runner: it reruns the mutants whose code or covering tests changed since the
// committed report (docs/mutation/mutation.json), then checks every mutated file's score.
let mutation;
if (!buildFailed) {
  console.log("\n=== packages/core: mutation check ===");
  mutation = await run("npm", ["run", "--silent", "test:mutation:fast"], join(root, "packages", "core"));
}
const total = tally(runs);
if (mutation) addCheck(total, { name: "packages/core mutation check", exitCode: mutation.exitCode });
console.log("");
if (buildFailed) console.log("build or typecheck failed: no tests ran");
for (const line of tools.lines.filter((l) => l.startsWith("missing "))) console.log(line);
if (mutation?.exitCode === 0) console.log("packages/core mutation check: passed (a check, not a test: a failure would count as 1 failed below)");
for (const line of total.failures) console.log(`failed: ${line}`);
for (const line of total.problems) console.log(`counted as failed: ${line}`);
console.log(summaryLine(total));
process.exit(buildFailed || total.failed > 0 || total.passed === 0 ? 1 : 0);
