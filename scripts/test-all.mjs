#!/usr/bin/env node
// Runs the whole suite: build and typecheck through turbo, then every package's tests under its
// runtime (vitest on Node, bun test under Bun), one package at a time, keeping each runner's exit
// code and output. Prints one total line, "replic: N passed, N failed, N skipped", in which load
// errors, failed hooks and runners that crash before reporting count as failures
// (scripts/total.mjs; its own tests run here too, under node --test).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { summaryLine, tally } from "./total.mjs";

const root = new URL("..", import.meta.url).pathname;
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
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
const total = tally(runs);
if (buildFailed) console.log("build or typecheck failed: no tests ran");
for (const line of total.problems) console.log(`counted as failed: ${line}`);
console.log(summaryLine(total));
process.exit(buildFailed || total.failed > 0 || total.passed === 0 ? 1 : 0);
