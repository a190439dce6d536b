#!/usr/bin/env node
// A hub and many spokes: one hub process (Node, better-sqlite3 file in WAL, @replic/transport-ws
// server on loopback) and N spoke replicas (each its own in-memory better-sqlite3 database) in a
// few spoke processes, all at the default 1 s heartbeat. Reported per N:
//   - the hub's CPU while every spoke is linked and idle (% of one core, process.cpuUsage),
//   - bytes per second on the wire while idle (the hub's replic bytes in + out), and per spoke,
//   - the hub's heap per link (heap after all linked and idle, minus before any, / N),
//   - time for one write on one spoke to reach every other spoke,
//   - time to converge after every spoke writes one row at once,
//   - time until every spoke is linked after the hub process starts accepting (this includes the
//     spoke processes opening their databases one after the other),
//   - a hub restart: the hub process killed (SIGKILL) and started again on the same database and
//     port while every spoke is linked: time until all are linked again (each spoke re-dials with
//     its jittered back-off) and the new hub's CPU over that time.
// With --transport nats, the same over a nats-server on loopback (Debian's, found as the tests find
// it): the "hub" is one member of a cluster every spoke also joins; every member hears every other
// member's heartbeats, and no member relays (each heard the original), so the measured member's
// idle cost grows with N by design — docs in packages/transport-nats/README.md, "Scaling".
// Results go to bench/results/hubs-<date>.md and .json.
//   node bench/hubs.mjs [--spokes 100,200,400,1000] [--per-process 250] [--idle-seconds 10]
//                       [--converge-limit 120] [--label after] [--out DIR] [--transport ws|nats]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const HUB = 1;
const NOTES = "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)";
const wallMs = () => performance.timeOrigin + performance.now();


async function open(Database, file, peerId) {
  const { openReplica, patchesDdl } = await import("@replic/adapter-node");
  const db = new Database(file);
  if (file !== ":memory:") {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
  }
  const scratch = new Database(":memory:");
  scratch.exec(NOTES);
  const up = NOTES + ";" + patchesDdl(scratch, "notes");
  scratch.close();
  const replica = openReplica(db, { peerId, logger: { warn: () => {} } });
  replica.migrate([{ up, down: "DROP TABLE notes_patches; DROP TABLE notes;" }]);
  return { db, replica };
}

/** Commands arrive as JSON lines on stdin; answers go out as JSON lines on stdout. */
function commands(handler) {
  let buf = "";
  process.stdin.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      const line = buf.slice(0, i);
      Promise.resolve(handler(JSON.parse(line))).catch((e) => {
        process.stderr.write(String(e?.stack ?? e) + "\n");
        process.exit(1);
      });
    }
  });
}
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const metricOf = (text, name) => Number(new RegExp(`^replic_${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);

async function child(cfg) {
  const { default: Database } = await import("better-sqlite3");
  const ws = await import("@replic/transport-ws");
  const nats = cfg.nats ? await import("@replic/transport-nats") : undefined;
  const quiet = { warn: () => {} };
  /** The spoke's (or, over NATS, any member's) link: something with close(). */
  const join = (replica) => (nats ? nats.joinNats(replica, { servers: cfg.nats, cluster: "bench", logger: quiet }) : ws.connectWebSocket(replica, cfg.url, { logger: quiet }));
  if (cfg.role === "hub") {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const { replica } = await open(Database, cfg.file, HUB);
    const cpuStart = process.cpuUsage();
    const server = nats ? await join(replica) : await ws.serveWebSocket(replica, { port: cfg.port ?? 0, logger: quiet });
    say({ ready: true, url: nats ? cfg.nats : `ws://127.0.0.1:${server.port}/replic`, port: server.port, startedAt: wallMs() });
    commands(async (c) => {
      if (c.cmd === "peers") {
        const cpu = process.cpuUsage(cpuStart);
        say({ peers: replica.status().peers.length, at: wallMs(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
      }
      else if (c.cmd === "idle") {
        global.gc?.();
        const m0 = replica.metrics();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, c.seconds * 1000));
        const cpu = process.cpuUsage(cpu0);
        const seconds = (performance.now() - t0) / 1000;
        const m1 = replica.metrics();
        const bytes = ["bytes_in_total", "bytes_out_total"].reduce((n, k) => n + metricOf(m1, k) - metricOf(m0, k), 0);
        const heads = metricOf(m1, "heads_taken_total") - metricOf(m0, "heads_taken_total");
        global.gc?.();
        say({
          cpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
          bytesPerSecond: bytes / seconds,
          headsPerSecond: heads / seconds,
          heapPerLinkBytes: (process.memoryUsage().heapUsed - heapBefore) / Math.max(1, replica.status().peers.length),
          rssMB: process.memoryUsage().rss / 1e6,
        });
      } else if (c.cmd === "stop") {
        await server.close();
        say({ stopped: true });
        process.exit(0);
      }
    });
    return;
  }
  // A spoke process: ids first..first+count-1, each its own in-memory database and link.
  const spokes = [];
  for (let i = 0; i < cfg.count; i++) {
    const { db, replica } = await open(Database, ":memory:", cfg.first + i);
    // Spread the links over a second, as devices reconnecting with jitter would.
    await new Promise((r) => setTimeout(r, 1000 / cfg.count));
    const link = await join(replica);
    spokes.push({ db, replica, link });
  }
  // Remote patches merged per spoke, counted from merge events (cheap: no query, no status()).
  const merged = new Map(spokes.map((s) => [s, 0]));
  let base = new Map(merged);
  const watchers = new Set();
  for (const s of spokes) {
    s.replica.on("merge", (e) => {
      if (e.local) return;
      merged.set(s, merged.get(s) + e.patches);
      for (const w of watchers) w();
    });
  }
  /** Resolves with the wall time at which every spoke of this process merged `n` remote patches. */
  const untilMerged = (n) =>
    new Promise((resolve) => {
      const check = () => {
        for (const [s, v] of merged) if (v - base.get(s) < n) return;
        watchers.delete(check);
        resolve(wallMs());
      };
      watchers.add(check);
      check();
    });
  say({ ready: true });
  commands(async (c) => {
    if (c.cmd === "write-one") {
      const s = spokes[0];
      const at = wallMs();
      const token = s.replica.upsert("notes", { id: `one-${c.tag}`, body: "x" });
      say({ token, at });
    } else if (c.cmd === "await-token") {
      const [origin] = c.token.split(".").map(Number);
      const times = await Promise.all(spokes.map((s) => (s.replica.peerId === origin ? 0 : s.replica.waitFor(c.token, 600_000).then(wallMs))));
      say({ at: Math.max(...times) });
    } else if (c.cmd === "mark") {
      base = new Map(merged);
      say({ marked: true });
    } else if (c.cmd === "write-all") {
      const at = wallMs();
      for (const s of spokes) s.replica.upsert("notes", { id: `all-${s.replica.peerId}`, body: "y" });
      say({ at });
    } else if (c.cmd === "await-merged") {
      say({ at: await untilMerged(c.patches) });
    } else if (c.cmd === "stop") {
      for (const s of spokes) await s.link.close();
      say({ stopped: true });
      process.exit(0);
    }
  });
}

/** Asks the hub for its linked peers until there are `n`; returns the last answer. */
async function untilLinked(hub, n) {
  for (;;) {
    hub.send({ cmd: "peers" });
    const answer = await hub.next();
    if (answer.peers >= n) return answer;
    await sleep(200);
  }
}

function start(cfg) {
  const p = spawn(process.execPath, ["--expose-gc", self, JSON.stringify(cfg)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = [];
  let wake = () => {};
  let buf = "";
  p.stdout.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      lines.push(JSON.parse(buf.slice(0, i)));
      wake();
    }
  });
  return {
    p,
    send: (o) => p.stdin.write(JSON.stringify(o) + "\n"),
    async next(timeoutMs = 600_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length === 0) {
        if (p.exitCode !== null) throw new Error(`${cfg.role} exited with ${p.exitCode}`);
        if (Date.now() > deadline) throw new Error(`${cfg.role}: no answer in ${timeoutMs} ms`);
        await new Promise((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
      return lines.shift();
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Debian's nats-server on a free loopback port (found as the NATS tests find it). */
async function startNats() {
  const { findTool } = await import("../scripts/system-tools.mjs");
  const binary = findTool("nats-server");
  if (!binary) throw new Error("nats-server is not installed (apt-get install nats-server; npm test installs it when run as root)");
  const { connect, createServer } = await import("node:net");
  const port = await new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });
  const child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  for (const end = Date.now() + 10_000; ; ) {
    const up = await new Promise((r) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), r(true)));
      s.once("error", () => r(false));
    });
    if (up) break;
    if (Date.now() > end) throw new Error("nats-server did not start");
    await sleep(50);
  }
  return { child, url: `nats://127.0.0.1:${port}` };
}

async function runOne(n, perProcess, idleSeconds, convergeLimit, natsUrl) {
  const dir = mkdtempSync(join(tmpdir(), "replic-hubs-"));
  let hub = start({ role: "hub", file: join(dir, "hub.db"), nats: natsUrl });
  const spokes = [];
  try {
    const { url, port, startedAt } = await hub.next();
    for (let first = 100; first < 100 + n; first += perProcess) {
      spokes.push(start({ role: "spoke", url, nats: natsUrl, first, count: Math.min(perProcess, 100 + n - first) }));
    }
    for (const s of spokes) await s.next();
    // Linked: the hub has every spoke as a neighbour.
    const linkedAt = (await untilLinked(hub, n)).at;
    // Idle: let the first exchange of heads settle, then measure.
    await sleep(5000);
    hub.send({ cmd: "idle", seconds: idleSeconds });
    const idle = await hub.next(idleSeconds * 1000 + 120_000);
    // One write on one spoke reaching every other spoke (three times; the median is reported).
    const reach = [];
    for (let k = 0; k < 3; k++) {
      spokes[0].send({ cmd: "write-one", tag: k });
      const { token, at } = await spokes[0].next();
      for (const s of spokes) s.send({ cmd: "await-token", token });
      const last = Math.max(...(await Promise.all(spokes.map((s) => s.next()))).map((r) => r.at));
      reach.push((last - at) / 1000);
      await sleep(1500);
    }
    reach.sort((a, b) => a - b);
    // Every spoke writes one row; converged when every spoke holds all of them (N × N merges in
    // all, done by the few spoke processes: bounded by `--converge-limit` seconds).
    // Every process marks what its spokes merged so far before any spoke writes: a process told
    // to write later than another must not count the other's rows, already merged, as old.
    for (const s of spokes) s.send({ cmd: "mark" });
    for (const s of spokes) await s.next();
    const wrote = [];
    for (const s of spokes) s.send({ cmd: "write-all" });
    for (const s of spokes) wrote.push((await s.next()).at);
    // Every spoke merges the N − 1 others' rows.
    for (const s of spokes) s.send({ cmd: "await-merged", patches: n - 1 });
    let convergeSeconds = null;
    try {
      const done = await Promise.all(spokes.map((s) => s.next(convergeLimit * 1000)));
      convergeSeconds = (Math.max(...done.map((r) => r.at)) - Math.min(...wrote)) / 1000;
    } catch {
      convergeSeconds = null; // not within the limit
    }
    // Hub restart: killed, started again on the same file and port; every spoke re-dials.
    await sleep(3000);
    hub.p.kill("SIGKILL");
    await new Promise((r) => (hub.p.exitCode !== null || hub.p.signalCode !== null ? r() : hub.p.once("exit", r)));
    hub = start({ role: "hub", file: join(dir, "hub.db"), port, nats: natsUrl });
    const restarted = await hub.next();
    const relinked = await untilLinked(hub, n);
    return {
      spokes: n,
      relinkSeconds: (relinked.at - restarted.startedAt) / 1000,
      relinkHubCpuSeconds: relinked.cpuSeconds,
      linkSeconds: (linkedAt - startedAt) / 1000,
      idleCpuPercent: idle.cpuPercent,
      idleBytesPerSecond: idle.bytesPerSecond,
      idleBytesPerSecondPerSpoke: idle.bytesPerSecond / n,
      idleHeadsPerSecond: idle.headsPerSecond,
      heapPerLinkKB: idle.heapPerLinkBytes / 1024,
      hubRssMB: idle.rssMB,
      oneWriteSeconds: reach[1],
      convergeSeconds,
      convergeLimit,
    };
  } finally {
    for (const s of [...spokes, hub]) {
      try {
        s.send({ cmd: "stop" });
      } catch {
        /* gone already */
      }
    }
    await sleep(1000);
    for (const s of [...spokes, hub]) if (s.p.exitCode === null) s.p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const sizes = arg("spokes", "100,200,400,1000").split(",").map(Number);
  const perProcess = Number(arg("per-process", "250"));
  const idleSeconds = Number(arg("idle-seconds", "10"));
  const label = arg("label", "");
  const convergeLimit = Number(arg("converge-limit", "120"));
  const transport = arg("transport", "ws");
  if (transport !== "ws" && transport !== "nats") throw new Error(`--transport ws or nats, not ${transport}`);
  const natsServer = transport === "nats" ? await startNats() : undefined;
  const results = [];
  try {
    for (const n of sizes) {
      const r = await runOne(n, perProcess, idleSeconds, convergeLimit, natsServer?.url);
      console.log(JSON.stringify(r));
      results.push(r);
    }
  } finally {
    natsServer?.child.kill("SIGKILL");
  }
  const date = new Date().toISOString().slice(0, 10);
  const base = join(arg("out", join(dirname(self), "results")), `hubs-${transport === "nats" ? "nats-" : ""}${date}${label ? `-${label}` : ""}`);
  const goals = (r) =>
    r.spokes === 1000
      ? `idle CPU ${r.idleCpuPercent <= 5 ? "≤" : ">"} 5 %, one write ${r.oneWriteSeconds <= 1 ? "≤" : ">"} 1 s`
      : "";
  const md = [
    `# Hub and spokes (${date}${label ? `, ${label}` : ""})`,
    "",
    transport === "nats"
      ? "One measured member (Node, better-sqlite3 file in WAL) and N members (in-memory better-sqlite3 each,"
      : "One hub process (Node, better-sqlite3 file in WAL, @replic/transport-ws on loopback) and N spokes",
    transport === "nats"
      ? `${perProcess} per process), one @replic/transport-nats cluster on a local nats-server, heartbeats every 1 s. \`node bench/hubs.mjs --transport nats\`.`
      : `(in-memory better-sqlite3 each, ${perProcess} per process), heartbeats every 1 s. \`node bench/hubs.mjs\`.`,
    "",
    "| spokes | hub idle CPU (% of a core) | idle bytes/s (hub, in+out) | idle bytes/s per spoke | heads taken/s idle | hub heap per link | one write to every spoke | converge after every spoke writes | all linked after start | hub restart: all linked again (hub CPU) | goals (1,000) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.spokes} | ${r.idleCpuPercent.toFixed(1)} % | ${Math.round(r.idleBytesPerSecond)} | ${r.idleBytesPerSecondPerSpoke.toFixed(1)} | ${Math.round(r.idleHeadsPerSecond)} | ${r.heapPerLinkKB.toFixed(1)} kB | ${r.oneWriteSeconds.toFixed(3)} s | ${r.convergeSeconds === null ? `> ${r.convergeLimit} s` : `${r.convergeSeconds.toFixed(2)} s`} | ${r.linkSeconds.toFixed(1)} s | ${r.relinkSeconds.toFixed(1)} s (${r.relinkHubCpuSeconds.toFixed(1)} CPU s) | ${goals(r)} |`,
    ),
    "",
  ].join("\n");
  writeFileSync(`${base}.json`, JSON.stringify({ date, label, perProcess, idleSeconds, results }, null, 2) + "\n");
  writeFileSync(`${base}.md`, md);
  console.log(md);
}

if (process.argv[2]?.startsWith("{")) await child(JSON.parse(process.argv[2]));
else await main();
