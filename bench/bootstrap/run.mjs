#!/usr/bin/env node
// Bootstrap benchmark: a newcomer reaching a replica of N rows
//   (a) from a snapshot in S3-compatible storage (s3rver on loopback) plus catch-up of the last K
//       patches, beside
//   (b) catch-up of all N patches from a peer.
// Time (to the last patch merged) and peak RSS of the newcomer's process, one child per mode.
//
//   node bench/bootstrap/run.mjs                    N = 1,000,000, K = 10,000; writes bench/results/bootstrap-<date>.{json,md}
//   node bench/bootstrap/run.mjs --smoke            N = 20,000, K = 1,000; writes to a temp dir
//   node bench/bootstrap/run.mjs --rows N --tail K --out DIR
import { fork, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { createDriver, openReplica } from "@replic/adapter-node";
import { snapshotToS3 } from "../../packages/snapshot-s3/dist/index.js";
import { MIGRATIONS } from "./schema.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const smoke = args.includes("--smoke");
const N = Number(flag("--rows", smoke ? 20_000 : 1_000_000));
const K = Number(flag("--tail", smoke ? 1_000 : 10_000));
const date = flag("--date", new Date().toISOString().slice(0, 10));
const out = flag("--out", smoke ? mkdtempSync(join(os.tmpdir(), "replic-bench-bootstrap-")) : join(here, "..", "results"));
const work = mkdtempSync(join(os.tmpdir(), "replic-bootstrap-work-"));

function startS3() {
  const script = join(here, "..", "..", "packages", "snapshot-s3", "test", "helpers", "s3-server.cjs");
  const dir = join(work, "s3");
  mkdirSync(dir);
  const child = spawn("node", [script, dir, "0", "bench"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) resolve({ child, endpoint: `http://127.0.0.1:${m[1]}` });
    });
    child.on("exit", (c) => reject(new Error(`s3rver exited ${c}`)));
  });
}

function write(replica, from, to) {
  const batch = [];
  for (let i = from; i < to; i++) {
    batch.push({ id: i, title: `row ${i} of the benchmark`, n: i });
    if (batch.length === 5000) replica.upsertMany("items", batch.splice(0));
  }
  if (batch.length) replica.upsertMany("items", batch);
}

/** Runs one newcomer child, linked to the source over IPC once it says its peer id. */
function linkChild(mode, source, s3) {
  const path = join(work, `${mode}.db`);
  const child = fork(join(here, "child.mjs"), [mode, path, String(source.peerId), String(N)], {
    serialization: "advanced",
    env: { ...process.env, BOOTSTRAP_S3: JSON.stringify(s3) },
  });
  return new Promise((resolve, reject) => {
    let linked = false;
    child.on("message", (m) => {
      if (m.type === "hello" && !linked) {
        linked = true;
        source.addPeer(m.peerId, (bytes) => child.connected && child.send({ type: "msg", bytes }));
        source.tick();
      } else if (m.type === "msg") source.receive(m.from, m.bytes);
      else if (m.type === "done") {
        source.removePeer(m.result.peerId);
        resolve(m.result);
      }
    });
    child.on("exit", (c) => (c === 0 ? undefined : reject(new Error(`${mode} child exited ${c}`))));
  });
}

const s3server = await startS3();
const started = Date.now();
try {
  const srcDb = new Database(join(work, "source.db"));
  srcDb.pragma("journal_mode = WAL");
  srcDb.pragma("synchronous = NORMAL");
  const source = openReplica(srcDb, { heartbeatMs: 50 });
  source.migrate(MIGRATIONS);
  const seedStart = performance.now();
  write(source, 0, N - K);
  const s3 = { from: "s3://bench/bootstrap", endpoint: s3server.endpoint, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } };
  const snapStart = performance.now();
  const snap = await snapshotToS3(createDriver(srcDb), { to: s3.from, endpoint: s3.endpoint, credentials: s3.credentials });
  const snapshotMs = performance.now() - snapStart;
  write(source, N - K, N);
  const seedMs = performance.now() - seedStart - snapshotMs;

  const viaSnapshot = await linkChild("snapshot", source, s3);
  const viaPatches = await linkChild("patches", source, s3);
  source.close();
  srcDb.close();

  const result = {
    date,
    mode: smoke ? "smoke" : "full",
    rows: N,
    tail: K,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, loadavg: os.loadavg() },
    seedMs,
    snapshot: { ms: snapshotMs, bytes: snap.manifest.size, dbBytes: snap.manifest.dbSize },
    viaSnapshot,
    viaPatches,
    wallMs: Date.now() - started,
  };
  mkdirSync(out, { recursive: true });
  const base = join(out, `bootstrap-${date}`);
  writeFileSync(base + ".json", JSON.stringify(result, null, 2) + "\n");
  const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const md = [
    `# Bootstrap from snapshot vs catch-up by patches (${result.mode}, ${date})`,
    "",
    `${N.toLocaleString("en")} rows; the snapshot holds the first ${(N - K).toLocaleString("en")} patches, the last ${K.toLocaleString("en")} come by catch-up. ` +
      `Newcomer in its own process (better-sqlite3, WAL), linked to the source over IPC; S3 is s3rver on loopback. ` +
      `Machine: ${result.machine.cpus} cores, ${result.machine.memGiB} GiB, Node ${process.version}, load ${result.machine.loadavg.map((x) => x.toFixed(1)).join("/")}.`,
    "",
    "| newcomer | time to last patch | restore (download, verify, install) | catch-up | patches by catch-up | peak RSS |",
    "|---|---|---|---|---|---|",
    `| snapshot + tail | ${f(viaSnapshot.totalMs)} | ${f(viaSnapshot.restoreMs)} | ${f(viaSnapshot.catchUpMs)} | ${viaSnapshot.patchesCaughtUp.toLocaleString("en")} | ${viaSnapshot.peakRssMiB.toFixed(0)} MiB |`,
    `| all by patches | ${f(viaPatches.totalMs)} | – | ${f(viaPatches.catchUpMs)} | ${viaPatches.patchesCaughtUp.toLocaleString("en")} | ${viaPatches.peakRssMiB.toFixed(0)} MiB |`,
    "",
    `Snapshot: ${(snap.manifest.size / 2 ** 20).toFixed(1)} MiB gzip of a ${(snap.manifest.dbSize / 2 ** 20).toFixed(1)} MiB database, taken and uploaded in ${f(snapshotMs)}. ` +
      `Speed-up of the snapshot path: ${(viaPatches.totalMs / viaSnapshot.totalMs).toFixed(1)}×.`,
    "",
  ].join("\n");
  writeFileSync(base + ".md", md);
  process.stdout.write(md + `\nwritten: ${base}.{json,md}\n`);
} finally {
  s3server.child.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
