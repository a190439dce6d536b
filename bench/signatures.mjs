#!/usr/bin/env node
// What would signed origins cost (docs/trust.md)? Times Ed25519 signing and verifying with each
// implementation a runtime offers — node:crypto (sync), WebCrypto (async), and @noble/ed25519
// (pure JavaScript, sync) — in Node and in Bun, over a 64-byte message (a digest, what a signed
// group or range would sign) and a 64 KiB one (a group of about 1,000 patches signed whole); then
// SHA-512 of the 64 KiB (the digest's own cost), and replic's receive() of 1,000-patch messages
// on the same runtime (better-sqlite3 in Node, bun:sqlite in Bun), so each verification can be
// put against what receiving the patches it covers costs. Writes results/signatures-<date>.{md,json}.
//
//   node bench/signatures.mjs                     # Node and Bun, 2,000 operations per figure, 5 runs
//   node bench/signatures.mjs --ops 50 --runs 1 --messages 2 --out /tmp/s --date test
// Other options: --runtimes node,bun.
import { createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as noble from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { TABLE, rows } from "./lib/data.mjs";
import { openDb } from "./lib/bindings.mjs";
import { openReplicaOn, adapterFor } from "./lib/replic.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { emit, gc, now, runtime } from "./lib/proc.mjs";
import { writeResults } from "./lib/results.mjs";
import { runToResult } from "./lib/spawn.mjs";
import { summarize } from "./lib/stats.mjs";

noble.hashes.sha512 = sha512;

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const bunPath = join(here, "node_modules", ".bin", "bun");
const SIZES = { digest: 64, group: 64 * 1024 };
const IMPLS = ["node:crypto", "WebCrypto", "@noble/ed25519"];

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(JSON.parse(argv[1]));
else await parent();

async function parent() {
  const { values: a } = parseArgs({
    args: argv,
    options: { runtimes: { type: "string" }, ops: { type: "string" }, runs: { type: "string" }, messages: { type: "string" }, out: { type: "string" }, date: { type: "string" } },
  });
  const opt = {
    runtimes: a.runtimes ? a.runtimes.split(",") : ["node", "bun"],
    ops: Number(a.ops ?? 2000),
    runs: Number(a.runs ?? 5),
    messages: Number(a.messages ?? 50),
    out: a.out ? resolve(a.out) : join(here, "results"),
    date: a.date ?? new Date().toISOString().slice(0, 10),
  };
  mkdirSync(opt.out, { recursive: true });
  const started = Date.now();
  const doc = { date: opt.date, options: { ...opt, out: undefined }, machine: describeMachine(bunPath), results: {}, errors: [] };
  for (const rt of opt.runtimes) {
    process.stderr.write(`▶ ${rt}\n`);
    const cfg = { ops: opt.ops, runs: opt.runs, messages: opt.messages };
    const r = await runToResult(rt === "bun" ? bunPath : process.execPath, rt === "bun" ? [self, "--child", JSON.stringify(cfg)] : ["--expose-gc", self, "--child", JSON.stringify(cfg)], { cwd: here, timeoutMs: 600_000 });
    if (r.ok) doc.results[rt] = r.figures;
    else doc.errors.push(`${rt}: ${r.error}`);
  }
  doc.seconds = Math.round((Date.now() - started) / 1000);
  writeResults(opt.out, `signatures-${opt.date}`, doc, report);
  process.exitCode = doc.errors.length ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------
// Child: one runtime.

/** Microseconds per call of `fn` (sync or async), `ops` calls, after as many untimed. */
async function perOp(ops, fn) {
  for (let i = 0; i < ops; i++) await fn(i);
  gc();
  const t0 = now();
  for (let i = 0; i < ops; i++) await fn(i);
  return ((now() - t0) * 1000) / ops;
}

/** Microseconds per call of a sync `fn` (no await in the timed loop). */
function perOpSync(ops, fn) {
  for (let i = 0; i < ops; i++) fn(i);
  gc();
  const t0 = now();
  for (let i = 0; i < ops; i++) fn(i);
  return ((now() - t0) * 1000) / ops;
}

async function implementations() {
  const node = generateKeyPairSync("ed25519");
  const web = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const secret = noble.utils.randomSecretKey();
  const pub = noble.getPublicKey(secret);
  return {
    "node:crypto": { sync: true, sign: (m) => nodeSign(null, m, node.privateKey), verify: (s, m) => nodeVerify(null, m, node.publicKey, s) },
    WebCrypto: { sync: false, sign: async (m) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, web.privateKey, m)), verify: (s, m) => crypto.subtle.verify({ name: "Ed25519" }, web.publicKey, s, m) },
    "@noble/ed25519": { sync: true, sign: (m) => noble.sign(m, secret), verify: (s, m) => noble.verify(s, m, pub) },
  };
}

async function child(cfg) {
  const log = (m) => process.stderr.write(`  [signatures/${runtime}] ${m}\n`);
  try {
    const impls = await implementations();
    const messages = Object.fromEntries(Object.entries(SIZES).map(([k, n]) => [k, Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff)]));
    const samples = {};
    const add = (key, v) => (samples[key] ??= []).push(v);
    for (let run = 0; run < cfg.runs; run++) {
      for (const [name, impl] of Object.entries(impls)) {
        // The pure-JavaScript library is about ten times slower: fewer calls keep the run short.
        const ops = name === "@noble/ed25519" ? Math.max(1, Math.floor(cfg.ops / 10)) : cfg.ops;
        for (const [size, m] of Object.entries(messages)) {
          const sig = await impl.sign(m);
          if (!(await impl.verify(sig, m))) throw new Error(`${name}: a signature of its own does not verify`);
          const forged = Uint8Array.from(m);
          forged[0] ^= 1;
          if (await impl.verify(sig, forged)) throw new Error(`${name}: an altered message verifies`);
          const timing = impl.sync ? (fn) => perOpSync(ops, fn) : (fn) => perOp(ops, fn);
          add(`${name}|${size}|sign`, await timing(() => impl.sign(m)));
          add(`${name}|${size}|verify`, await timing(() => impl.verify(sig, m)));
        }
      }
      add(`sha512|group|hash`, perOpSync(cfg.ops, () => createHash("sha512").update(messages.group).digest()));
      add(`receive|patch|merge`, await receivePerPatch(cfg.messages));
      log(`run ${run + 1}/${cfg.runs} done`);
    }
    const figures = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    emit({ ok: true, runtime, figures });
    process.exit(0);
  } catch (e) {
    emit({ ok: false, runtime, error: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  }
}

/** Microseconds of receive() per patch: `messages` messages of 1,000 patches (one transaction each), on this runtime's native binding. */
async function receivePerPatch(messages) {
  const binding = runtime === "bun" ? "bun" : "node";
  const adapter = await adapterFor(binding);
  const dir = mkdtempSync(join(os.tmpdir(), "replic-signatures-"));
  try {
    const writerDb = await openDb(binding, dir, "writer");
    const writer = openReplicaOn(adapter, writerDb, 1, { maxBatchPatches: 5000 });
    const sent = [];
    writer.addPeer(2, (m) => sent.push(m.slice()));
    for (let i = 0; i < messages; i++) {
      const part = rows(i * 1000 + 1, 1000);
      writer.transaction(() => {
        for (const r of part) writer.upsert(TABLE, r);
      });
    }
    writer.close();
    writerDb.close();
    const db = await openDb(binding, dir, "receiver");
    const receiver = openReplicaOn(adapter, db, 2);
    receiver.addPeer(1, () => {});
    gc();
    const t0 = now();
    for (const m of sent) receiver.receive(1, m);
    const us = ((now() - t0) * 1000) / (messages * 1000);
    receiver.close();
    db.close();
    return us;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------

function report(doc) {
  const f = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : "–");
  const m = doc.machine;
  const L = [];
  L.push(`# Ed25519 for signed origins: the cost of signing and verifying, ${doc.date}`, "");
  L.push(`Machine: ${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, Bun ${m.bun}. Total ${doc.seconds} s. Microseconds per operation, median of ${doc.options.runs} runs (min–max); ${doc.options.ops.toLocaleString("en-US")} operations per figure (a tenth of that for @noble/ed25519). WebCrypto's figures include one \`await\` per call.`, "");
  L.push("| implementation | runtime | sign 64 B | verify 64 B | sign 64 KiB | verify 64 KiB |", "|---|---|---:|---:|---:|---:|");
  const cell = (r, k) => (r[k] ? `${f(r[k].median)} (${f(r[k].min)}–${f(r[k].max)})` : "–");
  for (const impl of IMPLS)
    for (const [rt, r] of Object.entries(doc.results)) {
      L.push(`| ${impl} | ${rt} | ${cell(r, `${impl}|digest|sign`)} | ${cell(r, `${impl}|digest|verify`)} | ${cell(r, `${impl}|group|sign`)} | ${cell(r, `${impl}|group|verify`)} |`);
    }
  L.push("");
  L.push("Against what receiving costs: `receive()` of 1,000-patch messages (one transaction each) on the same runtime, per patch; SHA-512 of 64 KiB; and, for the fastest verification of a 64-byte digest, the number of patches one verification must cover to add less than 5 % to receiving them.", "");
  L.push("| runtime | receive(), µs per patch | SHA-512 of 64 KiB, µs | fastest verify of 64 B, µs (which) | patches per verification for < 5 % |", "|---|---:|---:|---:|---:|");
  for (const [rt, r] of Object.entries(doc.results)) {
    const recv = r["receive|patch|merge"]?.median;
    const best = IMPLS.map((i) => [i, r[`${i}|digest|verify`]?.median]).filter(([, v]) => Number.isFinite(v)).sort((a, b) => a[1] - b[1])[0];
    const per = best && Number.isFinite(recv) ? Math.ceil(best[1] / (0.05 * recv)) : NaN;
    L.push(`| ${rt} | ${f(recv)} | ${f(r["sha512|group|hash"]?.median)} | ${best ? `${f(best[1])} (${best[0]})` : "–"} | ${Number.isFinite(per) ? per.toLocaleString("en-US") : "–"} |`);
  }
  L.push("");
  if (doc.errors.length) L.push("## Errors", "", ...doc.errors.map((e) => `- ${e.split("\n")[0]}`), "");
  return L.join("\n");
}
