#!/usr/bin/env node
// What do group patches cost? Runs the batched write paths and receive() on the current core and
// on the core before groups (af4a3bd, the bundle in packages/core/test/fixtures), in the same
// process on the same binding, interleaved, and reports now / before per path and binding. Then a
// legitimate large group: one upsertMany of 1,000,000 rows caught up by a second replica in its
// own process over @replic/transport-ws on loopback, next to the same rows written as 1,000
// transactions of 1,000 (seconds to converge, the receiver's peak RSS, and whether any row of a
// group was ever visible before its last part arrived). Writes results/groups-<date>.{md,json}.
//
//   node bench/groups.mjs                      # every binding, 5 runs + 1 warm-up per figure, big group 1M
//   node bench/groups.mjs --rows 2000 --messages 4 --batch 500 --big 20000 --big-tx 2000 --runs 1 --warmup 0 --out /tmp/g
//   node bench/groups.mjs --skip-paths --big 300000 --date 2026-12-06-big300k   # only the large group
// Other options: --bindings node,bun,wasm, --skip-big, --big-timeout S (the receiver gives up and
// reports what it holds), --base-core FILE, --date NAME.
//
// Paths (each variant on a fresh database, raw upsert alongside for scale):
//   batched      `upsert` × rows inside one `transaction()` (now: one group)
//   many         one `upsertMany` of the same rows (now: one group)
//   recv-tx      receive() of `messages` × `batch`-patch messages a transaction-batched writer of
//                that build sent (now they carry a group each; before they carry none)
//   recv-single  receive() of the same number of messages of one origin's single upserts (the
//                synthetic history of workload 2: identical bytes for both builds, no groups)
// Then each path call by call (`messages` calls of `batch` rows or patches): a replica of each
// build side by side, call i made on both in turn, so a shared machine's drift cancels.
// "Before" is the bundled core of af4a3bd with the current adapter's driver (the adapters and
// their drivers are unchanged since); `--base-core FILE` benchmarks another core bundle.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ITEMS_DDL, TABLE, rows } from "./lib/data.mjs";
import { BINDINGS, BINDING_LABEL, openDb, removeDbFiles } from "./lib/bindings.mjs";
import { adapterFor, core as loadCore, openReplicaOn } from "./lib/replic.mjs";
import { singleOriginHistory } from "./lib/history.mjs";
import { interleave } from "./lib/measure.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { RESULT_MARK, emit, gc, now, peakRss, runtime } from "./lib/proc.mjs";
import { writeResults } from "./lib/results.mjs";
import { runToResult } from "./lib/spawn.mjs";
import { pairedRatios, summarize } from "./lib/stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const bunPath = join(here, "node_modules", ".bin", "bun");
const DEFAULT_BASE = join(here, "..", "packages", "core", "test", "fixtures", "core-af4a3bd.js");
const BASE_COMMIT = "af4a3bd";
const WRITER = 0x5001;
const RECEIVER = 0x5002;
const PATHS = ["batched", "many", "recv-tx", "recv-single"];

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(JSON.parse(argv[1]));
else if (argv[0] === "--peer") await peer(JSON.parse(argv[1]));
else await parent();

// ------------------------------------------------------------------------------------------------
// Parent: one child per binding for the before/after rounds, then the large-group catch-up.

async function parent() {
  const opt = {
    bindings: BINDINGS,
    runs: 5,
    warmup: 1,
    rows: 100_000,
    messages: 100,
    batch: 1_000,
    big: 1_000_000,
    bigTx: 1_000,
    baseCore: DEFAULT_BASE,
    out: join(here, "results"),
    date: new Date().toISOString().slice(0, 10),
    bigTimeout: 1200,
    skipBig: false,
    skipPaths: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === "--bindings") opt.bindings = v().split(",");
    else if (a === "--runs") opt.runs = Number(v());
    else if (a === "--warmup") opt.warmup = Number(v());
    else if (a === "--rows") opt.rows = Number(v());
    else if (a === "--messages") opt.messages = Number(v());
    else if (a === "--batch") opt.batch = Number(v());
    else if (a === "--big") opt.big = Number(v());
    else if (a === "--big-tx") opt.bigTx = Number(v());
    else if (a === "--big-timeout") opt.bigTimeout = Number(v());
    else if (a === "--base-core") opt.baseCore = resolve(v());
    else if (a === "--out") opt.out = resolve(v());
    else if (a === "--date") opt.date = v();
    else if (a === "--skip-big") opt.skipBig = true;
    else if (a === "--skip-paths") opt.skipPaths = true;
    else throw new Error(`unknown argument ${a} (see the comment at the top of ${self})`);
  }
  for (const b of opt.bindings) if (!BINDINGS.includes(b)) throw new Error(`unknown binding ${b}`);
  if (opt.big % opt.bigTx !== 0) throw new Error("--big must be a multiple of --big-tx");
  mkdirSync(opt.out, { recursive: true });
  const tmpDir = mkdtempSync(join(os.tmpdir(), "replic-groups-"));
  const started = Date.now();
  const machine = describeMachine(bunPath);
  const load = [os.loadavg().map((x) => +x.toFixed(1))];
  const doc = { date: opt.date, baseCommit: BASE_COMMIT, options: { ...opt, out: undefined, baseCore: opt.baseCore === DEFAULT_BASE ? `fixture core-${BASE_COMMIT}.js` : opt.baseCore }, machine, paths: {}, big: null, errors: [] };
  try {
    if (!opt.skipPaths)
      for (const binding of opt.bindings) {
        process.stderr.write(`\n▶ before/after on ${binding}\n`);
        const cfg = { binding, tmpDir, runs: opt.runs, warmup: opt.warmup, rows: opt.rows, messages: opt.messages, batch: opt.batch, baseCore: opt.baseCore };
        const r = await runToResult(binding === "bun" ? bunPath : process.execPath, binding === "bun" ? [self, "--child", JSON.stringify(cfg)] : ["--expose-gc", self, "--child", JSON.stringify(cfg)], { cwd: here });
        load.push(os.loadavg().map((x) => +x.toFixed(1)));
        if (!r.ok) doc.errors.push(`${binding}: ${r.error}`);
        else doc.paths[binding] = { ...summarizePaths(r.metrics), paired: summarizePaired(r.paired) };
      }
    if (!opt.skipBig) {
      process.stderr.write(`\n▶ large group: ${opt.big.toLocaleString("en-US")} rows, one upsertMany vs ${opt.big / opt.bigTx} transactions of ${opt.bigTx}\n`);
      doc.big = {};
      for (const mode of ["group", "tx"]) {
        try {
          doc.big[mode] = await bigCatchUp(mode, opt, tmpDir);
        } catch (e) {
          doc.big[mode] = { error: e.message };
          doc.errors.push(`big ${mode}: ${e.message}`);
        }
        load.push(os.loadavg().map((x) => +x.toFixed(1)));
      }
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  doc.seconds = Math.round((Date.now() - started) / 1000);
  doc.loadAverages = load;
  writeResults(opt.out, `groups-${opt.date}`, doc, report);
  process.exitCode = doc.errors.length ? 1 : 0;
}

/** Per path: rows/s of each build and of raw, and now / before per round. */
function summarizePaths(metrics) {
  const out = { raw: metrics["raw.batched"].samples ? summarize(metrics["raw.batched"].samples) : { error: metrics["raw.batched"].error } };
  for (const p of PATHS) {
    const n = metrics[`now.${p}`];
    const b = metrics[`before.${p}`];
    if (n.error || b.error) {
      out[p] = { error: n.error ?? b.error };
      continue;
    }
    out[p] = {
      now: summarize(n.samples),
      before: summarize(b.samples),
      ratio: summarize(pairedRatios(n.samples, b.samples)),
      nowCpu: summarize(n.cpuSamples),
      beforeCpu: summarize(b.cpuSamples),
      ratioCpu: summarize(pairedRatios(n.cpuSamples, b.cpuSamples)),
    };
  }
  return out;
}

/** Per path: the call-by-call ratios (pairedCalls), CPU and wall. */
function summarizePaired(paired) {
  const out = {};
  for (const [p, r] of Object.entries(paired)) out[p] = { ratioCpu: summarize(r.cpu), ratio: summarize(r.wall) };
  return out;
}

// ------------------------------------------------------------------------------------------------
// Child: both builds on one binding, interleaved rounds.

/** The core before groups, on the current adapter's driver (the adapters have not changed). */
async function baseAdapter(binding, baseCore) {
  const current = await adapterFor(binding);
  const core = await import(pathToFileURL(baseCore).href);
  return {
    core,
    openReplica: (db, o) => core.createReplica(current.createDriver(db), o),
    // The driver is released, as the adapters' own patchesDdl does: on WASM a statement left
    // unfinalized keeps a closed database's pages in the heap.
    patchesDdl: (db, t) => {
      const driver = current.createDriver(db);
      try {
        return core.patchesDdl(driver, t);
      } finally {
        driver.release?.();
      }
    },
  };
}

/** Seconds of CPU (user + system) this process used since `from` (a process.cpuUsage() value). */
function cpuSince(from) {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

async function child(cfg) {
  const { binding, tmpDir, batch, messages } = cfg;
  const log = (m) => process.stderr.write(`  [groups/${binding}] ${m}\n`);
  try {
    const builds = { now: await adapterFor(binding), before: await baseAdapter(binding, cfg.baseCore) };
    const data = rows(1, cfg.rows);
    const recvRows = messages * batch;
    // Messages of a transaction-batched writer of each build (untimed): `messages` transactions
    // of `batch` upserts, as sent to a neighbour.
    const txMessages = {};
    for (const [name, adapter] of Object.entries(builds)) {
      const db = await openDb(binding, tmpDir, "writer");
      const w = openReplicaOn(adapter, db, WRITER, { maxBatchPatches: Math.max(batch, 5000) });
      const sent = [];
      w.addPeer(RECEIVER, (m) => sent.push(m.slice()));
      for (let first = 1; first <= recvRows; first += batch) {
        const part = rows(first, batch);
        w.transaction(() => {
          for (const r of part) w.upsert(TABLE, r);
        });
      }
      await new Promise((r) => setTimeout(r, 0));
      w.close();
      db.close();
      if (sent.length !== messages) throw new Error(`${name} writer sent ${sent.length} messages for ${messages} transactions`);
      txMessages[name] = sent;
    }
    const nowCore = await loadCore();
    const nowGroups = nowCore.decodeMessage(txMessages.now[0]).groups?.length ?? 0;
    const beforeGroups = nowCore.decodeMessage(txMessages.before[0]).groups?.length ?? 0;
    if (nowGroups !== 1 || beforeGroups !== 0) throw new Error(`expected one group per message now and none before, got ${nowGroups} / ${beforeGroups}`);
    const single = singleOriginHistory(nowCore, { origin: WRITER, count: recvRows, batch }).messages;
    log(`inputs ready: ${messages} messages of ${batch} from a transaction-batched writer of each build, ${single.length} without groups`);

    const fresh = async (adapter, label) => {
      const db = await openDb(binding, tmpDir, label);
      return { db, replica: openReplicaOn(adapter, db, RECEIVER) };
    };
    const finish = ({ db, replica }, n) => {
      replica.close();
      const [c] = db.get("SELECT count(*) FROM items");
      db.close();
      if (Number(c) !== n) throw new Error(`expected ${n} rows, found ${c}`);
    };
    let lastCpu = NaN; // rows per CPU second of the variant that just ran
    const variants = {
      "raw.batched": async () => {
        const db = await openDb(binding, tmpDir, "raw");
        db.exec(ITEMS_DDL);
        const up = db.prepareUpsert();
        const c0 = process.cpuUsage();
        const t0 = now();
        db.exec("BEGIN");
        for (const r of data) up(r);
        db.exec("COMMIT");
        const s = (now() - t0) / 1000;
        lastCpu = data.length / cpuSince(c0);
        db.close();
        return data.length / s;
      },
    };
    for (const [name, adapter] of Object.entries(builds)) {
      variants[`${name}.batched`] = async () => {
        const h = await fresh(adapter, name);
        const c0 = process.cpuUsage();
        const t0 = now();
        h.replica.transaction(() => {
          for (const r of data) h.replica.upsert(TABLE, r);
        });
        const s = (now() - t0) / 1000;
        lastCpu = data.length / cpuSince(c0);
        finish(h, data.length);
        return data.length / s;
      };
      variants[`${name}.many`] = async () => {
        const h = await fresh(adapter, name);
        const c0 = process.cpuUsage();
        const t0 = now();
        h.replica.upsertMany(TABLE, data);
        const s = (now() - t0) / 1000;
        lastCpu = data.length / cpuSince(c0);
        finish(h, data.length);
        return data.length / s;
      };
      const recv = (msgs) => async () => {
        const h = await fresh(adapter, name);
        h.replica.addPeer(WRITER, () => {});
        const c0 = process.cpuUsage();
        const t0 = now();
        for (const m of msgs) h.replica.receive(WRITER, m);
        const s = (now() - t0) / 1000;
        lastCpu = recvRows / cpuSince(c0);
        finish(h, recvRows);
        return recvRows / s;
      };
      variants[`${name}.recv-tx`] = recv(txMessages[name]);
      variants[`${name}.recv-single`] = recv(single);
    }
    // Next to each wall-clock sample, the process's CPU seconds over the same span: on a shared,
    // loaded machine wall time carries waiting for a core, CPU time does not.
    const cpu = {};
    const timedVariants = {};
    for (const [name, fn] of Object.entries(variants)) {
      cpu[name] = [];
      timedVariants[name] = async () => {
        const v = await fn();
        cpu[name].push(lastCpu);
        return v;
      };
    }
    const metrics = await interleave(timedVariants, cfg, log);
    for (const [name, m] of Object.entries(metrics)) if (m.samples) m.cpuSamples = cpu[name].slice(cfg.warmup);
    // The same work one call at a time, both builds side by side (pairedCalls).
    const chunks = Array.from({ length: messages }, (_, i) => rows(i * batch + 1, batch));
    const receiving = (inputs) => ({ prepare: (r) => r.addPeer(WRITER, () => {}), call: (r, name, i) => r.receive(WRITER, inputs[name][i]) });
    const calls = { fresh, finish, count: messages, expected: recvRows, cfg, log };
    const paired = {
      batched: await pairedCalls("batched", builds, { ...calls, call: (r, _name, i) => r.transaction(() => { for (const x of chunks[i]) r.upsert(TABLE, x); }) }),
      many: await pairedCalls("many", builds, { ...calls, call: (r, _name, i) => r.upsertMany(TABLE, chunks[i]) }),
      "recv-tx": await pairedCalls("recv-tx", builds, { ...calls, ...receiving(txMessages) }),
      "recv-single": await pairedCalls("recv-single", builds, { ...calls, ...receiving({ now: single, before: single }) }),
    };
    emit({ ok: true, runtime, metrics, paired });
    process.exit(0);
  } catch (e) {
    emit({ ok: false, runtime, error: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  }
}

/**
 * One path one call at a time (a transaction, an upsertMany, a received message): a replica of
 * each build side by side, call i made on both in turn (which first alternates), the CPU and wall
 * time of each call summed per build. Both builds see the same moments of a shared machine, so
 * its drift from one sample to the next, which whole-run samples carry into their ratio, cancels
 * here. Returns now / before per round.
 */
async function pairedCalls(path, builds, { fresh, finish, count, expected, prepare, call, cfg, log }) {
  const cpu = [];
  const wall = [];
  for (let round = -cfg.warmup; round < cfg.runs; round++) {
    const h = { now: await fresh(builds.now, "now"), before: await fresh(builds.before, "before") };
    const spent = { now: { cpu: 0, wall: 0 }, before: { cpu: 0, wall: 0 } };
    for (const x of Object.values(h)) prepare?.(x.replica);
    gc();
    for (let i = 0; i < count; i++) {
      for (const name of i % 2 === 0 ? ["now", "before"] : ["before", "now"]) {
        const c0 = process.cpuUsage();
        const t0 = now();
        call(h[name].replica, name, i);
        spent[name].wall += now() - t0;
        const c = process.cpuUsage(c0);
        spent[name].cpu += c.user + c.system;
      }
    }
    finish(h.now, expected);
    finish(h.before, expected);
    const r = spent.before.cpu / spent.now.cpu;
    log(`${round < 0 ? "warm-up" : `run ${round + 1}/${cfg.runs}`} ${path}, call by call: now / before ${r.toFixed(3)} per CPU s`);
    if (round < 0) continue;
    cpu.push(r);
    wall.push(spent.before.wall / spent.now.wall);
  }
  return { cpu, wall };
}

// ------------------------------------------------------------------------------------------------
// Large group: setup (writer), send (serves over transport-ws), recv (catches up, own process).

async function bigCatchUp(mode, opt, tmpDir) {
  const dbPath = join(tmpDir, `big-${mode}.db`);
  const base = { dbPath, tmpDir, mode, rows: opt.big, tx: opt.bigTx };
  const say = (m) => process.stderr.write(m);
  try {
    const setup = await runToResult(process.execPath, ["--expose-gc", self, "--peer", JSON.stringify({ ...base, role: "setup" })], { cwd: here });
    if (!setup.ok) throw new Error(`setup: ${setup.error}`);
    const sender = spawn(process.execPath, ["--expose-gc", self, "--peer", JSON.stringify({ ...base, role: "send" })], { cwd: here, stdio: ["pipe", "pipe", "pipe"] });
    sender.stderr.on("data", say);
    let sOut = "";
    const url = await new Promise((res, rej) => {
      sender.stdout.on("data", (d) => {
        sOut += d;
        const m = /READY (\S+)/.exec(sOut);
        if (m) res(m[1]);
      });
      sender.on("close", () => rej(new Error(`sender exited: ${sOut}`)));
    });
    const recv = await runToResult(process.execPath, ["--expose-gc", self, "--peer", JSON.stringify({ ...base, role: "recv", url, timeoutSeconds: opt.bigTimeout })], { cwd: here });
    const senderDone = new Promise((res) => sender.on("close", res));
    sender.stdin.end("stop\n");
    await senderDone;
    const s = sOut.split("\n").find((l) => l.startsWith(RESULT_MARK));
    const sent = s ? JSON.parse(s.slice(RESULT_MARK.length)) : {};
    if (!recv.ok) throw new Error(`receiver: ${recv.error}`);
    const r = { writeSeconds: setup.seconds, writerPeakRss: setup.peakRss, senderPeakRss: sent.peakRss ?? null, ...recv };
    process.stderr.write(`  [big ${mode}] ${r.seconds.toFixed(2)} s to converge (${r.samplingSeconds.toFixed(2)} s of it counting rows), receiver peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MB, ${r.messages} messages, counts seen ${JSON.stringify(r.countsSeen)}\n`);
    return r;
  } finally {
    removeDbFiles(dbPath);
  }
}

async function peer(cfg) {
  const log = (m) => process.stderr.write(`  [big ${cfg.mode} ${cfg.role}] ${m}\n`);
  try {
    const adapter = await adapterFor("node");
    if (cfg.role === "setup") {
      const db = await openDb("node", null, "writer", { path: cfg.dbPath });
      const replica = openReplicaOn(adapter, db, WRITER);
      const t0 = now();
      if (cfg.mode === "group") replica.upsertMany(TABLE, rows(1, cfg.rows));
      else
        for (let first = 1; first <= cfg.rows; first += cfg.tx) {
          const part = rows(first, cfg.tx);
          replica.transaction(() => {
            for (const r of part) replica.upsert(TABLE, r);
          });
        }
      const seconds = (now() - t0) / 1000;
      replica.close();
      db.close({ keep: true });
      log(`${cfg.rows.toLocaleString("en-US")} rows written in ${seconds.toFixed(1)} s`);
      emit({ ok: true, seconds, peakRss: peakRss() });
      process.exit(0);
    }
    const ws = await import("@replic/transport-ws");
    if (cfg.role === "send") {
      const db = await openDb("node", null, "writer", { path: cfg.dbPath });
      const replica = adapter.openReplica(db.native, { peerId: WRITER, heartbeatMs: 1000 });
      const server = await ws.serveWebSocket(replica, { port: 0 });
      process.stdout.write(`READY ws://127.0.0.1:${server.port}/replic\n`);
      process.stdin.resume();
      process.stdin.once("end", async () => {
        await server.close();
        replica.close();
        db.close({ keep: true });
        emit({ ok: true, peakRss: peakRss() });
        process.exit(0);
      });
      return;
    }
    // Receiver: a fresh file database; after every message, the rows it shows.
    const db = await openDb("node", cfg.tmpDir, "receiver");
    const replica = openReplicaOn(adapter, db, RECEIVER, { heartbeatMs: 1000 });
    const countStmt = db.native.prepare("SELECT count(*) FROM items").pluck();
    const countsSeen = new Map();
    let sampling = 0;
    let messages = 0;
    let maxIncomplete = 0;
    let done;
    const converged = new Promise((r) => (done = r));
    const linked = {
      peerId: replica.peerId,
      addPeer: (p, send) => replica.addPeer(p, send),
      removePeer: (p) => replica.removePeer(p),
      tick: () => replica.tick(),
      receive(from, m) {
        replica.receive(from, m);
        messages++;
        const t = now();
        const c = countStmt.get();
        countsSeen.set(c, (countsSeen.get(c) ?? 0) + 1);
        const st = replica.status();
        maxIncomplete = Math.max(maxIncomplete, st.incompleteGroups?.patches ?? 0);
        sampling += now() - t;
        const o = st.origins.find((x) => x.peerId === WRITER);
        if (c === cfg.rows && o && o.contiguous >= cfg.rows) done();
      },
    };
    const t0 = now();
    const c0 = process.cpuUsage();
    if (cfg.timeoutSeconds)
      setTimeout(() => {
        const st = replica.status();
        emit({ ok: false, error: `not converged after ${cfg.timeoutSeconds} s (${cpuSince(c0).toFixed(0)} CPU s): ${messages} messages received, ${countStmt.get()} rows visible, ${st.incompleteGroups?.patches ?? 0} parts of ${st.incompleteGroups?.count ?? 0} groups waiting`, messages, partsWaiting: st.incompleteGroups?.patches ?? 0 });
        process.exit(1);
      }, cfg.timeoutSeconds * 1000).unref();
    const link = ws.connectWebSocket(linked, cfg.url);
    await converged;
    const seconds = (now() - t0) / 1000;
    const cpuSeconds = cpuSince(c0);
    const unit = cfg.mode === "group" ? cfg.rows : cfg.tx;
    const torn = [...countsSeen.keys()].filter((c) => c % unit !== 0);
    await link.close?.();
    replica.close();
    db.close();
    emit({ ok: true, seconds, cpuSeconds, samplingSeconds: sampling / 1000, peakRss: peakRss(), messages, maxIncompletePatches: maxIncomplete, countsSeen: Object.fromEntries([...countsSeen].sort((a, b) => a[0] - b[0]).slice(0, 3).concat(countsSeen.size > 3 ? [["…distinct", countsSeen.size]] : [])), distinctCounts: countsSeen.size, torn: torn.slice(0, 10), tornCount: torn.length });
    process.exit(0);
  } catch (e) {
    emit({ ok: false, runtime, error: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  }
}

// ------------------------------------------------------------------------------------------------
// Report

function report(doc) {
  const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
  const k = (x) => (Number.isFinite(x) ? Math.round(x / 1000).toLocaleString("en-US") + "k" : "–");
  const mb = (x) => (Number.isFinite(x) ? `${Math.round(x / 2 ** 20)} MB` : "–");
  const m = doc.machine;
  const L = [];
  L.push(`# Group patches: before (${doc.baseCommit}) and now, ${doc.date}`, "");
  L.push(`Machine: ${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, Bun ${m.bun}. Shared and loaded: load averages (1/5/15 min) at start and after each part: ${doc.loadAverages.map((l) => l.join("/")).join("; ")}. Total ${doc.seconds} s.`, "");
  const o = doc.options;
  if (Object.keys(doc.paths).length) {
    L.push(`## Before/after, ${o.runs} rounds (+${o.warmup} warm-up), interleaved in one process per binding`, "");
    L.push(`"Before" is @replic/core at ${doc.baseCommit} (${o.baseCore}) on the same adapter driver. Rows or patches per second, medians (min–max); **now / before** is computed per round. Each sample also records the CPU seconds (user + system) the process used over the same span ("per CPU s"): on a loaded machine wall time includes waiting for a core, CPU time does not. Batched paths: ${o.rows.toLocaleString("en-US")} rows; receive: ${o.messages} messages × ${o.batch.toLocaleString("en-US")} patches.`, "");
    L.push("| path | binding | before | now | **now / before** | raw batched upsert | before, per CPU s | now, per CPU s | **now / before, CPU** |", "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    const label = { batched: "`upsert` × N in `transaction()`", many: "`upsertMany`", "recv-tx": "`receive()`, transaction-batched writer (now: groups)", "recv-single": "`receive()`, single-upsert history (no groups)" };
    for (const p of PATHS)
      for (const [b, res] of Object.entries(doc.paths)) {
        const r = res[p];
        if (r.error) {
          L.push(`| ${label[p]} | ${BINDING_LABEL[b]} | failed: ${r.error.split("\n")[0]} | | | |`);
          continue;
        }
        L.push(`| ${label[p]} | ${BINDING_LABEL[b]} | ${k(r.before.median)} | ${k(r.now.median)} | **${f2(r.ratio.median)}** (${f2(r.ratio.min)}–${f2(r.ratio.max)}) | ${k(res.raw.median)} | ${k(r.beforeCpu.median)} | ${k(r.nowCpu.median)} | **${f2(r.ratioCpu.median)}** (${f2(r.ratioCpu.min)}–${f2(r.ratioCpu.max)}) |`);
      }
    L.push("");
    L.push(`### Call by call`, "");
    L.push(`The same paths again, ${o.runs} rounds (+${o.warmup} warm-up), made of ${o.messages} calls each: a replica of each build side by side, call i made on both in turn (which one first alternates), the CPU and wall time of each call summed per build. Both builds run through the same moments of the machine, so its drift between whole-run samples (above) does not enter these ratios. The write paths here are ${o.messages} transactions (or \`upsertMany\` calls) of ${o.batch.toLocaleString("en-US")} rows, not one of ${o.rows.toLocaleString("en-US")}. Medians (min–max) of now / before per round.`, "");
    L.push("| path | binding | **now / before, CPU** | now / before, wall |", "|---|---|---:|---:|");
    const byCall = { batched: `\`upsert\` × ${o.batch.toLocaleString("en-US")} in \`transaction()\``, many: `\`upsertMany\` of ${o.batch.toLocaleString("en-US")}`, "recv-tx": label["recv-tx"], "recv-single": label["recv-single"] };
    for (const p of PATHS)
      for (const [b, res] of Object.entries(doc.paths)) {
        const r = res.paired?.[p];
        if (r) L.push(`| ${byCall[p]} | ${BINDING_LABEL[b]} | **${f2(r.ratioCpu.median)}** (${f2(r.ratioCpu.min)}–${f2(r.ratioCpu.max)}) | ${f2(r.ratio.median)} (${f2(r.ratio.min)}–${f2(r.ratio.max)}) |`);
      }
    L.push("");
  }
  if (doc.big) {
    L.push(`## A large group: ${o.big.toLocaleString("en-US")} rows caught up over @replic/transport-ws (loopback)`, "");
    L.push(`Writer, sender and receiver are separate Node processes on better-sqlite3 file databases (WAL, synchronous=NORMAL). After every message the receiver counts the rows of \`items\` (the time of those counts is shown apart and not included in "converge"; "receiver CPU" is the receiver's user + system CPU seconds from the link to converged, counts included).`, "");
    L.push("| written as | write | converge | of which counting | receiver CPU | receiver peak RSS | sender peak RSS | messages | most parts waiting | row counts seen between messages | torn |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for (const [mode, r] of Object.entries(doc.big)) {
      const what = mode === "group" ? "one `upsertMany` (one group)" : `${(o.big / o.bigTx).toLocaleString("en-US")} transactions of ${o.bigTx.toLocaleString("en-US")}`;
      if (r.error) {
        L.push(`| ${what} | failed: ${r.error.split("\n")[0]} |||||||||`);
        continue;
      }
      L.push(`| ${what} | ${f2(r.writeSeconds)} s | ${f2(r.seconds - r.samplingSeconds)} s | ${f2(r.samplingSeconds)} s | ${f2(r.cpuSeconds)} s | ${mb(r.peakRss)} | ${mb(r.senderPeakRss)} | ${r.messages} | ${r.maxIncompletePatches.toLocaleString("en-US")} | ${r.distinctCounts} distinct: ${Object.entries(r.countsSeen).map(([c, n]) => `${c}${c.startsWith("…") ? "" : ` ×${n}`}`).join(", ")} | ${r.tornCount} |`);
    }
    L.push("", `"torn" counts the samples that were not a whole number of groups (one group: 0 or ${o.big.toLocaleString("en-US")}; transactions: a multiple of ${o.bigTx.toLocaleString("en-US")}).`, "");
  }
  if (doc.errors.length) L.push("## Errors", "", ...doc.errors.map((e) => `- ${e.split("\n")[0]}`), "");
  return L.join("\n");
}
