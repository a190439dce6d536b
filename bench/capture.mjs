#!/usr/bin/env node
// What do captured tables cost? Plain INSERT / UPDATE through the binding on a table opened with
// `capture` (TEMP triggers write a queue in the application's transaction; replica.flush() turns it
// into patches) next to the same statements on raw SQLite on the same binding and next to
// `upsert`, on better-sqlite3, bun:sqlite and node-sqlite3-wasm, in one run; on the WASM runtime
// also cr-sqlite's trigger-based inserts (crsqlite-sync build, lib/crsqlite.mjs) next to raw
// inserts on that build. Writes results/capture-<date>.{md,json}.
//
//   node bench/capture.mjs                     # every binding, 5 runs + 1 warm-up per figure
//   node bench/capture.mjs --rows 2000 --single 300 --runs 1 --warmup 0 --out /tmp/c
// Options: --bindings node,bun,wasm, --date NAME, --clock wall|cpu (cpu: the process's user + system
// time instead of wall time, for a machine other work loads; it leaves out waits for the disk).
//
// Variants (each on a fresh database; the captured and upsert ones include their drain):
//   raw.batch        `rows` plain INSERTs in one transaction
//   captured.batch   the same INSERTs on a captured table, then flush()
//   captured.queue   the same INSERTs on a captured table, timed without the flush (the capture
//                    triggers' queue alone; the drain runs after the clock stops): what the triggers
//                    cost, so captured.batch − captured.queue is what the drain costs
//   upsert.batch     the same rows as upsert() inside one transaction()
//   raw.update       `rows` plain `UPDATE items SET qty = ? WHERE id = ?` in one transaction (rows present)
//   captured.update  the same UPDATEs on a captured table, then flush()
//   captured.update.queue  the same UPDATEs, timed without the flush (as captured.queue)
//   raw.single       `single` plain INSERTs, each its own transaction
//   captured.single  the same, then one flush() (the heartbeat's drain, once for all of them)
//   captured.single+flush  the same with flush() after every INSERT (each write stamped at once)
//   upsert.single    `single` upserts, each its own transaction
//   cr.raw, cr.insert (WASM only)  `rows` INSERTs in one transaction on the cr-sqlite build, into a
//                    plain table and into a CRR (crsql_as_crr: cr-sqlite's triggers)
// Goals (issue): captured.batch ≥ 0.4 × raw.batch on every binding; captured.single ≥ 0.9 × upsert.single.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ITEMS_DDL, TABLE, rows } from "./lib/data.mjs";
import { BINDINGS, BINDING_LABEL, openDb } from "./lib/bindings.mjs";
import { adapterFor, openReplicaOn } from "./lib/replic.mjs";
import { interleave } from "./lib/measure.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { RESULT_MARK, emit, now } from "./lib/proc.mjs";
import { pairedRatios, summarize } from "./lib/stats.mjs";
import { CrDatabase, loadCrsqlite } from "./lib/crsqlite.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const bunPath = join(here, "node_modules", ".bin", "bun");
const INSERT_SQL = "INSERT INTO items(id, name, qty, price, note, deletedAt) VALUES (?, ?, ?, ?, ?, ?)";
const UPDATE_SQL = "UPDATE items SET qty = ? WHERE id = ?";
const RATIOS = [
  ["captured.batch", "raw.batch", "captured batched / raw", 0.4],
  ["captured.queue", "raw.batch", "captured batched, triggers only (no drain) / raw", null],
  ["captured.update", "raw.update", "captured batched UPDATE / raw", 0.4],
  ["captured.update.queue", "raw.update", "captured batched UPDATE, triggers only (no drain) / raw", null],
  ["captured.single", "upsert.single", "captured single / upsert single", 0.9],
  ["captured.single+flush", "upsert.single", "captured single, flushed each / upsert single", null],
  ["captured.single", "raw.single", "captured single / raw single", null],
  ["upsert.batch", "raw.batch", "upsert batched / raw (for scale)", null],
  ["cr.insert", "cr.raw", "cr-sqlite CRR insert / raw (same build)", null],
];

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(JSON.parse(argv[1]));
else await parent();

async function parent() {
  const opt = { bindings: BINDINGS, runs: 5, warmup: 1, rows: 20_000, single: 2_000, out: join(here, "results"), date: new Date().toISOString().slice(0, 10), clock: "wall" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === "--bindings") opt.bindings = v().split(",");
    else if (a === "--runs") opt.runs = Number(v());
    else if (a === "--warmup") opt.warmup = Number(v());
    else if (a === "--rows") opt.rows = Number(v());
    else if (a === "--single") opt.single = Number(v());
    else if (a === "--out") opt.out = v();
    else if (a === "--date") opt.date = v();
    else if (a === "--clock") opt.clock = v();
    else throw new Error(`unknown option ${a}`);
  }
  const loadAtStart = os.loadavg()[0];
  const tmpDir = mkdtempSync(join(os.tmpdir(), "replic-capture-bench-"));
  const results = {};
  try {
    for (const binding of opt.bindings) {
      const cmd = binding === "bun" ? bunPath : process.execPath;
      const args = binding === "bun" ? [self] : ["--expose-gc", self];
      results[binding] = await runChild(cmd, [...args, "--child", JSON.stringify({ ...opt, binding, tmpDir })]);
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  if (opt.clock !== "wall" && opt.clock !== "cpu") throw new Error(`--clock takes wall or cpu, not ${opt.clock}`);
  const report = { date: opt.date, machine: { ...describeMachine(bunPath), loadAtStart }, options: { rows: opt.rows, single: opt.single, runs: opt.runs, warmup: opt.warmup, clock: opt.clock }, results };
  mkdirSync(opt.out, { recursive: true });
  writeFileSync(join(opt.out, `capture-${opt.date}.json`), JSON.stringify(report, null, 2) + "\n");
  const md = markdown(report);
  writeFileSync(join(opt.out, `capture-${opt.date}.md`), md);
  process.stdout.write(md);
}

function runChild(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (c) => {
      out += c;
      for (const line of c.split("\n")) if (line && !line.startsWith(RESULT_MARK)) process.stderr.write(`  ${line}\n`);
    });
    p.on("error", reject);
    p.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT_MARK));
      if (code !== 0 || !line) reject(new Error(`child ${args.join(" ")} exited ${code}`));
      else resolve(JSON.parse(line.slice(RESULT_MARK.length)));
    });
  });
}

function markdown(report) {
  const lines = [`# Captured tables: plain SQL vs raw SQLite vs upsert (${report.date})`, ""];
  const spread = (x) => `${x.min.toFixed(2)}–${x.max.toFixed(2)}`;
  lines.push(`${report.options.rows} rows per batched figure, ${report.options.single} writes per single-write figure; median of ${report.options.runs} runs (+${report.options.warmup} warm-up), variants interleaved; rows/s by ${report.options.clock === "cpu" ? "CPU time of the process (user + system)" : "wall time"}. Machine: ${report.machine.cpuModel}, ${report.machine.cpuCount} cores; load average at the start ${report.machine.loadAtStart.toFixed(1)} (other work shares the machine: compare the ratios, measured in one run, not the rates).`, "");
  lines.push("| binding | variant | rows/s (median) |", "|---|---|---|");
  for (const [binding, r] of Object.entries(report.results)) {
    for (const [name, v] of Object.entries(r.variants)) lines.push(`| ${BINDING_LABEL[binding]} | ${name} | ${v.error ? `failed: ${v.error}` : Math.round(v.median).toLocaleString("en-US")} |`);
  }
  lines.push("", "| binding | ratio | median | spread (min–max of the rounds) | goal |", "|---|---|---|---|---|");
  for (const [binding, r] of Object.entries(report.results)) {
    for (const x of r.ratios) lines.push(`| ${BINDING_LABEL[binding]} | ${x.label} | ${x.median.toFixed(2)} | ${spread(x)} | ${x.goal === null ? "" : `≥ ${x.goal} ${x.median >= x.goal ? "(met)" : "(not met)"}`} |`);
  }
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------------------------------------
// Child: one binding, every variant interleaved.

async function child(opt) {
  const { binding, tmpDir } = opt;
  // Wall time, or this process's CPU time (user + system): on a loaded machine the CPU time of
  // the synchronous SQLite work is what other processes disturb least (it leaves out waits for
  // the disk and for a core).
  const clock =
    opt.clock === "cpu"
      ? () => {
          const c = process.cpuUsage();
          return (c.user + c.system) / 1000;
        }
      : now;
  const adapter = await adapterFor(binding);
  const data = rows(1, opt.rows);
  const singles = rows(1, opt.single);
  const args = (r) => [r.id, r.name, r.qty, r.price, r.note, r.deletedAt];
  /** A prepared statement run with positional parameters, whatever the binding. */
  const prepared = (dbh, sql) => {
    const st = dbh.native.prepare(sql);
    return binding === "wasm" ? (p) => st.run(p) : (p) => st.run(...p);
  };
  const count = (dbh) => Number(dbh.get(`SELECT count(*) FROM ${TABLE}`)[0]);
  const check = (dbh, n) => {
    if (count(dbh) !== n) throw new Error(`expected ${n} rows, found ${count(dbh)}`);
  };
  const fresh = async (capture) => {
    const dbh = await openDb(binding, tmpDir, "cap");
    if (capture === undefined) {
      dbh.exec(ITEMS_DDL);
      return { dbh, replica: undefined };
    }
    return { dbh, replica: openReplicaOn(adapter, dbh, 0x4001, capture ? { capture: [TABLE] } : {}) };
  };
  const done = ({ dbh, replica }, n, s) => {
    check(dbh, n);
    if (replica) {
      if (replica.flush() !== null && replica.status().sequence < 1) throw new Error("nothing was stamped");
      replica.close();
    }
    dbh.close();
    return n / s;
  };
  const batchInsert = (dbh, list) => {
    const run = prepared(dbh, INSERT_SQL);
    dbh.exec("BEGIN");
    for (const r of list) run(args(r));
    dbh.exec("COMMIT");
  };
  const fill = (o) => {
    // Rows present before an UPDATE figure, drained untimed.
    batchInsert(o.dbh, data);
    o.replica?.flush();
  };
  const updateAll = (dbh) => {
    const run = prepared(dbh, UPDATE_SQL);
    dbh.exec("BEGIN");
    for (const r of data) run([r.qty + 1, r.id]);
    dbh.exec("COMMIT");
  };
  const stamped = (o, n) => {
    if (o.replica.status().sequence < n) throw new Error(`only ${o.replica.status().sequence} of ${n} writes stamped`);
  };

  const variants = {
    "raw.batch": async () => {
      const o = await fresh(undefined);
      const t0 = clock();
      batchInsert(o.dbh, data);
      return done(o, data.length, (clock() - t0) / 1000);
    },
    "captured.batch": async () => {
      const o = await fresh(true);
      const t0 = clock();
      batchInsert(o.dbh, data);
      o.replica.flush();
      const s = (clock() - t0) / 1000;
      stamped(o, data.length);
      return done(o, data.length, s);
    },
    "captured.queue": async () => {
      const o = await fresh(true);
      const t0 = clock();
      batchInsert(o.dbh, data);
      const s = (clock() - t0) / 1000;
      o.replica.flush();
      stamped(o, data.length);
      return done(o, data.length, s);
    },
    "upsert.batch": async () => {
      const o = await fresh(false);
      const t0 = clock();
      o.replica.transaction(() => {
        for (const r of data) o.replica.upsert(TABLE, r);
      });
      return done(o, data.length, (clock() - t0) / 1000);
    },
    "raw.update": async () => {
      const o = await fresh(undefined);
      fill(o);
      const t0 = clock();
      updateAll(o.dbh);
      return done(o, data.length, (clock() - t0) / 1000);
    },
    "captured.update": async () => {
      const o = await fresh(true);
      fill(o);
      const t0 = clock();
      updateAll(o.dbh);
      o.replica.flush();
      const s = (clock() - t0) / 1000;
      stamped(o, 2 * data.length);
      return done(o, data.length, s);
    },
    "captured.update.queue": async () => {
      const o = await fresh(true);
      fill(o);
      const t0 = clock();
      updateAll(o.dbh);
      const s = (clock() - t0) / 1000;
      o.replica.flush();
      stamped(o, 2 * data.length);
      return done(o, data.length, s);
    },
    "raw.single": async () => {
      const o = await fresh(undefined);
      const run = prepared(o.dbh, INSERT_SQL);
      const t0 = clock();
      for (const r of singles) run(args(r));
      return done(o, singles.length, (clock() - t0) / 1000);
    },
    "captured.single": async () => {
      const o = await fresh(true);
      const run = prepared(o.dbh, INSERT_SQL);
      const t0 = clock();
      for (const r of singles) run(args(r));
      o.replica.flush();
      const s = (clock() - t0) / 1000;
      stamped(o, singles.length);
      return done(o, singles.length, s);
    },
    "captured.single+flush": async () => {
      const o = await fresh(true);
      const run = prepared(o.dbh, INSERT_SQL);
      const t0 = clock();
      for (const r of singles) {
        run(args(r));
        o.replica.flush();
      }
      const s = (clock() - t0) / 1000;
      stamped(o, singles.length);
      return done(o, singles.length, s);
    },
    "upsert.single": async () => {
      const o = await fresh(false);
      const t0 = clock();
      for (const r of singles) o.replica.upsert(TABLE, r);
      return done(o, singles.length, (clock() - t0) / 1000);
    },
  };
  if (binding === "wasm") {
    const M = await loadCrsqlite();
    const crInsert = (crr) => {
      const db = new CrDatabase(M, ":memory:");
      db.exec(ITEMS_DDL);
      if (crr) db.exec("SELECT crsql_as_crr('items')");
      const st = db.prepare(INSERT_SQL);
      const t0 = clock();
      db.exec("BEGIN");
      for (const r of data) st.run(args(r));
      db.exec("COMMIT");
      const s = (clock() - t0) / 1000;
      const n = Number(db.prepare("SELECT count(*) FROM items").get()[0]);
      db.close();
      if (n !== data.length) throw new Error(`cr-sqlite: expected ${data.length} rows, found ${n}`);
      return data.length / s;
    };
    variants["cr.raw"] = async () => crInsert(false);
    variants["cr.insert"] = async () => crInsert(true);
  }
  const out = await interleave(variants, { runs: opt.runs, warmup: opt.warmup }, (m) => process.stdout.write(`[${binding}] ${m}\n`));
  const summary = {};
  for (const [name, v] of Object.entries(out)) summary[name] = v.error ? { error: v.error } : summarize(v.samples);
  const ratios = [];
  for (const [a, b, label, goal] of RATIOS) {
    if (!out[a]?.samples || !out[b]?.samples) continue;
    const r = summarize(pairedRatios(out[a].samples, out[b].samples));
    ratios.push({ a, b, label, goal, median: r.median, min: r.min, max: r.max });
  }
  emit({ binding, variants: summary, ratios });
}
