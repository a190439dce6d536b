// One side of the catch-up workload, in its own process (so each side's peak RSS is its own).
//   role "setup": writes the sender's database: `patches` local upserts in transactions of `batch`.
//   role "send" : opens that database, serves it over a WebSocket server on 127.0.0.1.
//   role "recv" : a fresh replica that connects, catches up through replic's own protocol
//                 (heartbeats advertise heads, the receiver requests the missing ranges in bounded
//                 windows, the sender streams them), and reports the seconds until converged.
// Both replicas run replic's own heartbeat timer (`heartbeatMs`, default 1000 as in production)
// and call tick() once when the connection opens, so the exchange of heads starts at once; after
// that the receiver asks for the next window as soon as one lands (replic's streaming catch-up).
//
// REPLIC_CATCHUP_TRACE=<file> (diagnosis, not part of the figures) appends one JSON line per
// message each side receives: rss, heapUsed, heapTotal, external, arrayBuffers, the WASM heap
// (wasm), the message's bytes and time in receive(); the receiver adds its contiguous head and
// the patches requested, applied and duplicate so far, the sender what it served and how many
// bytes its socket still buffers. The receiver's last line is taken after a full collection.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { rows } from "../lib/data.mjs";
import { openDb } from "../lib/bindings.mjs";
import { adapterFor, openReplicaOn } from "../lib/replic.mjs";
import { emit, gc, now, peakRss, rss, runtime } from "../lib/proc.mjs";

const cfg = JSON.parse(process.argv[2]);
const tracePath = cfg.trace ?? process.env.REPLIC_CATCHUP_TRACE;
const wasmMemories = [];
if (tracePath && typeof WebAssembly !== "undefined") {
  // node-sqlite3-wasm does not expose its WebAssembly.Memory: catch it when it is instantiated.
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const inst = new Instance(module, imports);
    for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) wasmMemories.push(v);
    return inst;
  };
}
function trace(fields) {
  const m = process.memoryUsage();
  const wasm = wasmMemories.reduce((n, x) => n + x.buffer.byteLength, 0);
  appendFileSync(tracePath, JSON.stringify({ role: cfg.role, t: Math.round(now()), rss: rss(), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, wasm, ...fields }) + "\n");
}
const log = (m) => process.stderr.write(`  [catchup ${cfg.role}/${cfg.binding}] ${m}\n`);
const SENDER = 0x4001;
const RECEIVER = 0x4002;

try {
  if (cfg.role === "setup") await setup();
  else if (cfg.role === "send") await send();
  else if (cfg.role === "recv") await recv();
  else throw new Error(`unknown role ${cfg.role}`);
} catch (e) {
  emit({ ok: false, runtime, error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
}

async function setup() {
  const adapter = await adapterFor(cfg.binding);
  const db = await openDb(cfg.binding, null, "sender", { path: cfg.dbPath });
  const replica = openReplicaOn(adapter, db, SENDER);
  const t0 = now();
  for (let first = 1; first <= cfg.patches; first += cfg.batch) {
    const data = rows(first, Math.min(cfg.batch, cfg.patches - first + 1));
    replica.transaction(() => {
      for (const r of data) replica.upsert("items", r);
    });
  }
  replica.close();
  db.close({ keep: true });
  log(`sender database: ${cfg.patches.toLocaleString("en-US")} patches written in ${((now() - t0) / 1000).toFixed(1)} s`);
  emit({ ok: true });
  process.exit(0);
}

async function send() {
  const adapter = await adapterFor(cfg.binding);
  const db = await openDb(cfg.binding, null, "sender", { path: cfg.dbPath });
  const replica = adapter.openReplica(db.native, { peerId: SENDER, heartbeatMs: cfg.heartbeatMs });
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  let busy = 0; // ms spent inside replica.receive() (serving requests)
  wss.on("connection", (ws) => {
    replica.addPeer(RECEIVER, (bytes) => ws.send(bytes));
    ws.on("message", (data) => {
      const t = now();
      replica.receive(RECEIVER, toBytes(data)); // serving a request: read, encode, ws.send
      busy += now() - t;
      if (tracePath) trace({ inBytes: data.length, ms: now() - t, buffered: ws.bufferedAmount, served: metric(replica.metrics(), "patches_served_total") });
    });
    ws.on("close", () => {
      const served = metric(replica.metrics(), "patches_served_total");
      replica.close();
      db.close({ keep: true });
      wss.close();
      emit({ ok: true, peakRss: peakRss(), served, busySeconds: busy / 1000 });
      process.exit(0);
    });
    replica.tick();
  });
  process.stdout.write(`READY ${wss.address().port}\n`);
}

async function recv() {
  const adapter = await adapterFor(cfg.binding);
  // A file database on every binding, as a real receiver has (on WASM: rollback journal, no WAL;
  // one commit per received message). cfg.receiverDb = "memory" puts the WASM receiver's database
  // in :memory: instead (a reference figure: the database then lives in the WASM heap).
  const memoryDb = cfg.binding === "wasm" && cfg.receiverDb === "memory";
  const db = await openDb(cfg.binding, cfg.tmpDir, "receiver", memoryDb ? {} : { path: join(cfg.tmpDir, `catchup-receiver-${cfg.binding}-${process.pid}.db`) });
  const replica = openReplicaOn(adapter, db, RECEIVER, { heartbeatMs: cfg.heartbeatMs });
  const ws = new WebSocket(`ws://127.0.0.1:${cfg.port}`);
  ws.binaryType = "nodebuffer";
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const t0 = now();
  let bytesIn = 0;
  let messages = 0;
  let done = false;
  let busy = 0; // ms spent inside replica.receive()
  const finish = () => {
    done = true;
    const seconds = (now() - t0) / 1000;
    if (tracePath) {
      // What is still live once caught up (after a full collection): nothing merged is kept.
      gc();
      trace({ afterGc: true });
    }
    const [count] = db.get("SELECT count(*) FROM items");
    if (Number(count) !== cfg.patches) throw new Error(`converged with ${count} rows, expected ${cfg.patches}`);
    const requested = metric(replica.metrics(), "gap_patches_requested_total");
    const dbBytes = Number(db.get("PRAGMA page_count")[0]) * Number(db.get("PRAGMA page_size")[0]);
    replica.close();
    db.close();
    emit({ ok: true, seconds, busySeconds: busy / 1000, peakRss: peakRss(), bytesIn, messages, requested, dbBytes });
    ws.close();
    setTimeout(() => process.exit(0), 50);
  };
  replica.addPeer(SENDER, (bytes) => ws.send(bytes));
  ws.on("message", (data) => {
    if (done) return;
    bytesIn += data.length;
    messages++;
    const t = now();
    replica.receive(SENDER, toBytes(data));
    busy += now() - t;
    const o = replica.status().origins.find((x) => x.peerId === SENDER);
    if (tracePath) {
      const text = replica.metrics();
      trace({ inBytes: data.length, ms: now() - t, contiguous: o?.contiguous ?? 0, requested: metric(text, "gap_patches_requested_total"), applied: metric(text, "patches_applied_total"), duplicate: metric(text, "patches_duplicate_total") });
    }
    if (o && o.contiguous >= cfg.patches) finish();
  });
  replica.tick();
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return new Uint8Array(data);
}

/** Sum of one counter in a Prometheus text exposition (all label sets). */
export function metric(text, name) {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && (m[1] === name || m[1] === `replic_${name}`)) sum += Number(m[3]);
  }
  return sum;
}
