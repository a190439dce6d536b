#!/usr/bin/env node
// Catch-up over each transport package: a sender process holds N patches (written once, untimed);
// a fresh receiver process links to it through @replic/transport-ws (WebSocket on loopback) or
// @replic/transport-nats (through a local nats-server) and catches up through replic's protocol.
// Reported per transport: seconds from the link call to converged, and the peak RSS of each
// process. Results go to bench/results/transport-catchup.md (and .json).
//   node bench/transport-catchup.mjs [--patches 1000000] [--transports ws,nats]
// Both sides use better-sqlite3 files. The raw `ws` loopback figure of the main bench (workload
// "catchup") is the baseline: same data, same protocol, no transport package.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findTool } from "../scripts/system-tools.mjs";
import { ITEMS_DDL, rows } from "./lib/data.mjs";
import { peakRss } from "./lib/proc.mjs";

const self = fileURLToPath(import.meta.url);
const SENDER = 0x4001;
const RECEIVER = 0x4002;

if (process.argv[2]?.startsWith("{")) await child(JSON.parse(process.argv[2]));
else await main();

async function open(file, peerId) {
  const { default: Database } = await import("better-sqlite3");
  const { openReplica, patchesDdl } = await import("@replic/adapter-node");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const scratch = new Database(":memory:");
  scratch.exec(ITEMS_DDL);
  const up = ITEMS_DDL + ";" + patchesDdl(scratch, "items");
  scratch.close();
  const replica = openReplica(db, { peerId, heartbeatMs: 1000, logger: { warn: () => {} } });
  replica.migrate([{ up, down: "DROP TABLE items_patches; DROP TABLE items;" }]);
  return { db, replica };
}

async function child(cfg) {
  const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
  if (cfg.role === "setup") {
    const { db, replica } = await open(cfg.file, SENDER);
    for (let first = 1; first <= cfg.patches; first += 10_000) replica.upsertMany("items", rows(first, Math.min(10_000, cfg.patches - first + 1)));
    replica.close();
    db.close();
    say({ done: true });
    return;
  }
  const { db, replica } = await open(cfg.file, cfg.role === "send" ? SENDER : RECEIVER);
  const transport = cfg.transport === "ws" ? await import("@replic/transport-ws") : await import("@replic/transport-nats");
  if (cfg.role === "send") {
    let close;
    let metrics = () => "";
    if (cfg.transport === "ws") {
      const server = await transport.serveWebSocket(replica, { port: 0 });
      close = () => server.close();
      metrics = () => server.metrics();
      say({ ready: true, url: `ws://127.0.0.1:${server.port}/replic` });
    } else {
      const m = await transport.joinNats(replica, { servers: cfg.servers, cluster: "bench" });
      close = () => m.close();
      metrics = () => m.metrics();
      say({ ready: true });
    }
    process.stdin.once("data", async () => {
      const dropped = metrics().split("\n").filter((l) => /^replic_(ws_dropped|nats_oversized)_total/.test(l)).reduce((n, l) => n + Number(l.split(" ").pop()), 0);
      await close();
      say({ peakRss: peakRss(), dropped });
      process.exit(0);
    });
    return;
  }
  // Receiver: link, then wait until it holds 1..N of the sender.
  const t0 = performance.now();
  const link = cfg.transport === "ws" ? transport.connectWebSocket(replica, cfg.url) : await transport.joinNats(replica, { servers: cfg.servers, cluster: "bench" });
  await new Promise((resolve) => {
    const check = () => (replica.status().origins.find((o) => o.peerId === SENDER)?.contiguous ?? 0) >= cfg.patches && resolve();
    replica.on("merge", check);
    setInterval(check, 50).unref();
  });
  const seconds = (performance.now() - t0) / 1000;
  const count = db.prepare("SELECT count(*) AS n FROM items").get().n;
  await link.close();
  say({ seconds, count, peakRss: peakRss() });
  process.exit(0);
}

function start(cfg) {
  const p = spawn(process.execPath, [self, JSON.stringify(cfg)], { stdio: ["pipe", "pipe", "inherit"] });
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
    async next() {
      while (lines.length === 0) {
        if (p.exitCode !== null) throw new Error(`${cfg.role} exited with ${p.exitCode}`);
        await new Promise((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
      return lines.shift();
    },
  };
}

async function freePort() {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

async function main() {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const patches = Number(arg("patches", "1000000"));
  const transports = arg("transports", "ws,nats").split(",");
  const dir = mkdtempSync(join(tmpdir(), "replic-transport-catchup-"));
  const senderFile = join(dir, "sender.db");
  try {
    const setup = start({ role: "setup", file: senderFile, patches });
    await setup.next();
    const results = [];
    for (const transport of transports) {
      let nats;
      const cfg = { transport, patches };
      if (transport === "nats") {
        const natsServer = findTool("nats-server");
        if (!natsServer) throw new Error("nats-server is not installed (Debian: apt-get install -y nats-server)");
        const port = await freePort();
        nats = spawn(natsServer, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
        cfg.servers = `nats://127.0.0.1:${port}`;
        await new Promise((r) => setTimeout(r, 500));
      }
      const sender = start({ ...cfg, role: "send", file: senderFile });
      const ready = await sender.next();
      const receiverFile = join(dir, `receiver-${transport}.db`);
      const receiver = start({ ...cfg, role: "recv", file: receiverFile, url: ready.url });
      const r = await receiver.next();
      sender.p.stdin.write("exit\n");
      const s = await sender.next();
      nats?.kill();
      if (r.count !== patches) throw new Error(`${transport}: receiver holds ${r.count} rows, expected ${patches}`);
      results.push({ transport, patches, seconds: r.seconds, receiverPeakRss: r.peakRss, senderPeakRss: s.peakRss });
      console.log(`${transport}: ${patches.toLocaleString("en-US")} patches in ${r.seconds.toFixed(2)} s; peak RSS sender ${(s.peakRss / 2 ** 20).toFixed(0)} MiB, receiver ${(r.peakRss / 2 ** 20).toFixed(0)} MiB; ${s.dropped} messages dropped by the sender`);
    }
    const md = [
      `# Catch-up over the transport packages (${new Date().toISOString().slice(0, 10)})`,
      "",
      `Node ${process.version}, better-sqlite3 files on both sides, ${patches.toLocaleString("en-US")} patches, loopback. Made by \`node bench/transport-catchup.mjs\`.`,
      "",
      "| transport | seconds | patches/s | sender peak RSS | receiver peak RSS |",
      "|---|---|---|---|---|",
      ...results.map((r) => `| ${r.transport} | ${r.seconds.toFixed(2)} | ${Math.round(r.patches / r.seconds).toLocaleString("en-US")} | ${(r.senderPeakRss / 2 ** 20).toFixed(0)} MiB | ${(r.receiverPeakRss / 2 ** 20).toFixed(0)} MiB |`),
      "",
    ].join("\n");
    const out = fileURLToPath(new URL("./results/transport-catchup", import.meta.url));
    writeFileSync(`${out}.md`, md);
    writeFileSync(`${out}.json`, JSON.stringify(results, null, 2) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
