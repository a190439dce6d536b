#!/usr/bin/env node
// What does the visibility check (rows become visible when they are valid) cost on receive()?
// In one process per run, interleaved, on fresh file databases:
//   plain-before   receive() into a table without constraints on a core built before the check
//                  (--base-core FILE: an ESM bundle of that core; the variant is skipped without it)
//   plain          the same on the current core (no constraint: the check is skipped)
//   constrained    the same rows into a table with NOT NULL without DEFAULT, UNIQUE, a CHECK and
//                  a foreign key to a referenced table, every row valid, foreign keys enforced
//                  (PRAGMA foreign_keys = ON): the fast path, SQLite checks each batch
//   row-by-row     the same with foreign keys not enforced: every row is merged from its patches
//                  and checked one by one (the path taken whenever a row is parked, too)
// Reports patches per second, medians (min–max), and the per-round ratios plain / plain-before and
// constrained / plain. Writes results/parking-<date>.{md,json}.
//
//   node bench/parking.mjs --base-core /tmp/core-before.mjs --now-core /tmp/core-now.mjs
// (--now-core: the current core as a bundle built the same way as the base one, so both load
// alike; without it the current core is the workspace package.)
//   node bench/parking.mjs --patches 2000 --batch 500 --runs 1 --warmup 0 --out /tmp/p   # smoke
// Other options: --bindings node,wasm (in this process; bun:sqlite is not run here), --date NAME.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BINDING_LABEL, openDb } from "./lib/bindings.mjs";
import { adapterFor, core as loadCore } from "./lib/replic.mjs";
import { interleave } from "./lib/measure.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { now } from "./lib/proc.mjs";
import { pairedRatios, summarize } from "./lib/stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const WRITER = 0x6001;
const RECEIVER = 0x6002;

const PLAIN_DDL = "CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER, teamId INTEGER)";
const CONSTRAINED_DDL = `CREATE TABLE teams (id INTEGER PRIMARY KEY, label TEXT);
CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, age INTEGER CHECK (age >= 0),
  teamId INTEGER REFERENCES teams(id))`;
const COLUMNS = ["id", "name", "email", "age", "teamId"];
const TEAMS = 100;

const opt = {
  bindings: ["node", "wasm"],
  runs: 5,
  warmup: 1,
  patches: 100_000,
  batch: 1_000,
  baseCore: undefined,
  nowCore: undefined,
  out: join(here, "results"),
  date: new Date().toISOString().slice(0, 10),
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const v = () => argv[++i];
  if (a === "--bindings") opt.bindings = v().split(",");
  else if (a === "--runs") opt.runs = Number(v());
  else if (a === "--warmup") opt.warmup = Number(v());
  else if (a === "--patches") opt.patches = Number(v());
  else if (a === "--batch") opt.batch = Number(v());
  else if (a === "--base-core") opt.baseCore = resolve(v());
  else if (a === "--now-core") opt.nowCore = resolve(v());
  else if (a === "--out") opt.out = resolve(v());
  else if (a === "--date") opt.date = v();
  else throw new Error(`unknown option ${a}`);
}

/** Messages of one writer: `teams` rows first (constrained history only), then the members. */
function history(core, withTeams) {
  const startMs = Date.now() - 10 * 60_000;
  const messages = [];
  let seq = 0;
  let pending = [];
  const flush = () => {
    if (pending.length === 0) return;
    const e = new core.PatchesEncoder(1 << 16);
    const tables = new Map();
    for (const p of pending) {
      let ti = tables.get(p.table);
      if (ti === undefined) tables.set(p.table, (ti = e.addTable(p.table, p.columns)));
      e.add(ti, WRITER, p.seq, p.at, p.columns.map((_, i) => i), p.values);
    }
    messages.push(e.finish());
    pending = [];
  };
  const push = (table, columns, values) => {
    seq++;
    pending.push({ table, columns, values, seq, at: core.timestampFromMs(startMs) + seq });
    if (pending.length === opt.batch) flush();
  };
  if (withTeams) for (let t = 1; t <= TEAMS; t++) push("teams", ["id", "label"], [t, `team-${t}`]);
  for (let i = 1; i <= opt.patches; i++) push("members", COLUMNS, [i, `m-${i}`, `m${i}@example.org`, i % 90, 1 + (i % TEAMS)]);
  flush();
  return messages;
}

async function receiveAll(binding, tmp, build, ddl, tables, messages, count, foreignKeys = true) {
  const db = await openDb(binding, tmp, "parking");
  try {
    db.exec(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`);
    db.exec(ddl);
    for (const t of tables) db.exec(build.patchesDdl(db.native, t));
    const replica = build.openReplica(db.native, { peerId: RECEIVER, heartbeatMs: 0 });
    const t0 = now();
    for (const m of messages) replica.receive(WRITER, m);
    const s = (now() - t0) / 1000;
    const shown = Number(db.get("SELECT count(*) FROM members")[0]);
    if (shown !== opt.patches) throw new Error(`${shown} of ${opt.patches} rows shown`);
    replica.close();
    return count / s;
  } finally {
    db.close();
  }
}

async function bundledBuild(binding, file) {
  const current = await adapterFor(binding);
  const core = await import(pathToFileURL(file).href);
  return {
    openReplica: (db, o) => core.createReplica(current.createDriver(db), o),
    patchesDdl: (db, t) => core.patchesDdl(current.createDriver(db), t),
  };
}

const core = await loadCore();
const plainHistory = history(core, false);
const constrainedHistory = history(core, true);
const doc = { date: opt.date, options: { ...opt, out: undefined }, machine: describeMachine(join(here, "node_modules", ".bin", "bun")), load: [os.loadavg()], results: {} };
const started = now();
for (const binding of opt.bindings) {
  const tmp = mkdtempSync(join(os.tmpdir(), "replic-parking-"));
  try {
    const build = opt.nowCore ? await bundledBuild(binding, opt.nowCore) : await adapterFor(binding);
    const variants = {
      plain: () => receiveAll(binding, tmp, build, PLAIN_DDL, ["members"], plainHistory, opt.patches),
      constrained: () => receiveAll(binding, tmp, build, CONSTRAINED_DDL, ["teams", "members"], constrainedHistory, opt.patches + TEAMS),
      "row-by-row": () => receiveAll(binding, tmp, build, CONSTRAINED_DDL, ["teams", "members"], constrainedHistory, opt.patches + TEAMS, false),
    };
    if (opt.baseCore) {
      const before = await bundledBuild(binding, opt.baseCore);
      variants["plain-before"] = () => receiveAll(binding, tmp, before, PLAIN_DDL, ["members"], plainHistory, opt.patches);
    }
    const out = await interleave(variants, opt, (line) => console.error(`[${binding}] ${line}`));
    const res = {};
    for (const [k, v] of Object.entries(out)) res[k] = v.error ? { error: v.error } : summarize(v.samples);
    if (out["plain-before"]?.samples && out.plain.samples) res["plain / plain-before"] = summarize(pairedRatios(out.plain.samples, out["plain-before"].samples));
    if (out.constrained.samples && out.plain.samples) res["constrained / plain"] = summarize(pairedRatios(out.constrained.samples, out.plain.samples));
    if (out["row-by-row"].samples && out.plain.samples) res["row-by-row / plain"] = summarize(pairedRatios(out["row-by-row"].samples, out.plain.samples));
    doc.results[binding] = res;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
doc.seconds = Math.round((now() - started) / 1000);
doc.load.push(os.loadavg());

const f = (x) => (x >= 100 ? `${Math.round(x / 1000)}k` : x.toFixed(2));
const cell = (s) => (!s ? "" : s.error ? "error" : `${f(s.median)} (${f(s.min)}–${f(s.max)})`);
const L = [`# receive() and the visibility check, ${opt.date}`, ""];
const m = doc.machine;
const load = doc.load.map((l) => l.map((x) => x.toFixed(1)).join("/")).join("; ");
L.push(`Machine: ${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}. Load averages (1/5/15 min) at start and end: ${load}. Total ${doc.seconds} s.`, "");
L.push(
  `${opt.patches.toLocaleString("en-US")} patches in messages of ${opt.batch.toLocaleString("en-US")}, received by a fresh replica on a file database, ${opt.runs} rounds (+${opt.warmup} warm-up), variants interleaved. Patches per second, medians (min–max); ratios are per round. "plain-before": the core built before the check${opt.baseCore ? ` (${opt.baseCore.split("/").pop()})` : " (not run: no --base-core)"}; the current core: ${opt.nowCore ? opt.nowCore.split("/").pop() : "the workspace package"}.`,
  "",
);
L.push("| binding | plain-before | plain | constrained | row-by-row | **plain / plain-before** | **constrained / plain** | **row-by-row / plain** |", "|---|---:|---:|---:|---:|---:|---:|---:|");
for (const [b, r] of Object.entries(doc.results)) {
  L.push(`| ${BINDING_LABEL[b] ?? b} | ${cell(r["plain-before"])} | ${cell(r.plain)} | ${cell(r.constrained)} | ${cell(r["row-by-row"])} | ${cell(r["plain / plain-before"])} | ${cell(r["constrained / plain"])} | ${cell(r["row-by-row / plain"])} |`);
}
L.push("");
mkdirSync(opt.out, { recursive: true });
writeFileSync(join(opt.out, `parking-${opt.date}.json`), JSON.stringify(doc, null, 2));
writeFileSync(join(opt.out, `parking-${opt.date}.md`), L.join("\n"));
console.log(L.join("\n"));
console.log(`wrote ${join(opt.out, `parking-${opt.date}`)}.{md,json}`);
