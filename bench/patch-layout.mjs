#!/usr/bin/env node
// Can a different `T_patches` layout make replic's SQL smaller? Replays the statement mix of
// replic's write paths (an upsert of `items` plus an insert into `items_patches` per row) on
// candidate layouts of `items_patches`, next to the raw upsert of the same rows, on every
// binding, and writes the figures to bench/results/patch-layout-<date>.{md,json}.
//
//   node bench/patch-layout.mjs                 # every binding, 5 runs per figure
//   node bench/patch-layout.mjs --runs 3 --rows 50000 --out /tmp/layout   # (default out: bench/results)
//
// Layouts (every one keeps T_patches' columns, the user's contract):
//   by-row    clustered by (pk, _patchedAt, _peerId, _sequenceId) + unique (_peerId, _sequenceId)
//             index: what `patchesDdl` printed up to 2026-11-26
//   by-origin clustered by (_peerId, _sequenceId) + (pk, _patchedAt, _peerId, _sequenceId) index
//             for the late-patch probe: what `patchesDdl` prints now
//   rowid     a rowid table (rows in insertion order) + both indexes
// and two floors that are NOT usable layouts, to show what one fewer B-tree would be worth:
//   by-row-no-seq    `by-row` without its (_peerId, _sequenceId) index (no duplicate check,
//                    no range reads for neighbours)
//   by-origin-no-row `by-origin` without its row index (no late-patch probe)
// Then replic itself (the built adapter) on `by-row` and on what `patchesDdl` prints, same rows:
//   receive       100 messages of one origin's patches, each the newest of its row
//   receive-late  the same rows again from a second origin whose clock is behind: every patch
//                 is late and asks the patch table for its row's later patches
//   upsertMany    one call with every row
//   gc            a garbage-collection pass over a table holding one origin's patches, none old
//                 enough to go: what a pass costs when it finds nothing (ms per pass)
// Statement mixes (the paths of bench/workloads/local-writes.mjs and remote-merge.mjs):
//   many     64-row upserts of items + 64-row inserts of patch rows (upsertMany, receive)
//   batched  one-row upserts of items + 64-row inserts of patch rows (upsert × N in transaction())
//   single   one transaction per row, one-row statements (single upsert); reports WAL frames
//            per commit on the WAL bindings (wal_autocheckpoint off while measuring)
// Keys: `seq` (ids 1..N, as the main bench) and `random` (a fixed permutation of 32-bit ids).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { COLUMNS, ITEMS_DDL, RAW_UPSERT_SQL, row } from "./lib/data.mjs";
import { BINDINGS, BINDING_LABEL, openDb } from "./lib/bindings.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { median } from "./lib/stats.mjs";
import { now, runtime } from "./lib/proc.mjs";
import { adapterFor, core as loadCore } from "./lib/replic.mjs";
import { makeEncoder, patch } from "./lib/history.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const PATCH_COLUMNS = "id INTEGER, name TEXT, qty INTEGER, price REAL, note TEXT, deletedAt INTEGER, " +
  `"_patchedAt" INTEGER NOT NULL, "_sequenceId" INTEGER NOT NULL, "_peerId" INTEGER NOT NULL, "_nulls" TEXT`;
const P = "items_patches";
export const LAYOUTS = {
  "by-row": [
    `CREATE TABLE ${P} (${PATCH_COLUMNS}, PRIMARY KEY (id, "_patchedAt", "_peerId", "_sequenceId")) WITHOUT ROWID`,
    `CREATE UNIQUE INDEX ${P}_seq ON ${P} ("_peerId", "_sequenceId")`,
  ],
  "by-origin": [
    `CREATE TABLE ${P} (${PATCH_COLUMNS}, PRIMARY KEY ("_peerId", "_sequenceId")) WITHOUT ROWID`,
    `CREATE INDEX ${P}_row ON ${P} (id, "_patchedAt", "_peerId", "_sequenceId")`,
  ],
  rowid: [
    `CREATE TABLE ${P} (${PATCH_COLUMNS})`,
    `CREATE UNIQUE INDEX ${P}_seq ON ${P} ("_peerId", "_sequenceId")`,
    `CREATE INDEX ${P}_row ON ${P} (id, "_patchedAt", "_peerId", "_sequenceId")`,
  ],
  "by-row-no-seq": [`CREATE TABLE ${P} (${PATCH_COLUMNS}, PRIMARY KEY (id, "_patchedAt", "_peerId", "_sequenceId")) WITHOUT ROWID`],
  "by-origin-no-row": [`CREATE TABLE ${P} (${PATCH_COLUMNS}, PRIMARY KEY ("_peerId", "_sequenceId")) WITHOUT ROWID`],
};
const MIXES = ["many", "batched", "single"];
const REPLIC_PATHS = ["receive", "receive-late", "upsertMany", "gc"];
const ORDERS = ["seq", "random"];
const BATCH = 64;
const PEER = 0x1001;
const T0 = 1_790_000_000_000 * 2 ** 10; // an HLC timestamp of 2026 (ms in the high bits)

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === "--child") {
  const cfg = JSON.parse(args[1]);
  process.stdout.write(JSON.stringify(await child(cfg)) + "\n");
} else {
  await parent();
}

async function parent() {
  const runs = Number(opt("--runs", 5));
  const nRows = Number(opt("--rows", 100_000));
  const nSingle = Number(opt("--single", 10_000));
  const only = opt("--bindings", BINDINGS.join(",")).split(",");
  const cacheKiB = opt("--cache-kib") ? Number(opt("--cache-kib")) : undefined;
  const mixes = opt("--mixes", MIXES.join(",")).split(",").filter((m) => m !== "none");
  const orders = opt("--keys", ORDERS.join(",")).split(",");
  const replicRows = Number(opt("--replic-rows", 50_000));
  const started = Date.now();
  const results = {};
  for (const binding of only) {
    const bun = join(here, "node_modules", ".bin", "bun");
    const cmd = binding === "bun" ? bun : process.execPath;
    const cfg = { binding, runs, nRows, nSingle, cacheKiB, mixes, orders, replicRows };
    process.stderr.write(`[patch-layout] ${BINDING_LABEL[binding]} ...\n`);
    const r = spawnSync(cmd, [fileURLToPath(import.meta.url), "--child", JSON.stringify(cfg)], {
      cwd: here,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.status !== 0) throw new Error(`${binding} child exited ${r.status}`);
    results[binding] = JSON.parse(r.stdout.trim().split("\n").pop());
  }
  const seconds = (Date.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const out = opt("--out", join(here, "results"));
  mkdirSync(out, { recursive: true });
  const name = `patch-layout-${date}${cacheKiB ? `-cache-${cacheKiB}kib` : ""}`;
  const doc = { date, seconds, cacheKiB, replicRows, machine: describeMachine(join(here, "node_modules", ".bin", "bun")), runs, nRows, nSingle, results };
  writeFileSync(join(out, `${name}.json`), JSON.stringify(doc, null, 1) + "\n");
  const md = report(doc);
  writeFileSync(join(out, `${name}.md`), md);
  process.stdout.write(md);
  process.stderr.write(`[patch-layout] wrote ${join(out, name)}.{md,json} in ${seconds.toFixed(0)} s\n`);
}

/** One binding: every mix × key order × layout, the raw upsert alongside, runs interleaved. */
async function child({ binding, runs, nRows, nSingle, cacheKiB, mixes, orders, replicRows }) {
  const dir = mkdtempSync(join(os.tmpdir(), "replic-layout-"));
  const out = {};
  let replic;
  try {
    for (const mix of mixes) {
      for (const order of orders) {
        const n = mix === "single" ? nSingle : nRows;
        const data = makeRows(n, order);
        const patches = data.map(patchRow); // built before timing, as the rows are
        const variants = ["raw", ...Object.keys(LAYOUTS)];
        const samples = Object.fromEntries(variants.map((v) => [v, { rate: [], frames: [] }]));
        await once(binding, dir, "by-row", mix, data, patches, cacheKiB); // warm-up of the binding and the JIT
        for (let r = 0; r < runs; r++) {
          for (const v of variants) {
            const s = await once(binding, dir, v, mix, data, patches, cacheKiB);
            samples[v].rate.push(s.rate);
            if (s.frames !== undefined) samples[v].frames.push(s.frames);
          }
        }
        out[`${mix}/${order}`] = samples;
        process.stderr.write(`[patch-layout] ${binding} ${mix}/${order}: ` +
          variants.map((v) => `${v} ${Math.round(median(samples[v].rate))}/s`).join(", ") + "\n");
      }
    }
    if (replicRows > 0) replic = await replicOnLayouts(binding, dir, runs, replicRows, orders);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { runtime, out, replic };
}

/** replic's own rows/s on the old layout (`by-row`) and on what its `patchesDdl` prints now. */
async function replicOnLayouts(binding, dir, runs, n, orders) {
  const adapter = await adapterFor(binding);
  const encode = makeEncoder(await loadCore());
  const out = {};
  for (const order of orders) {
    const ids = makeRows(n, order).map((r) => r[0]);
    // Origin 0xa writes every row; origin 0xb wrote the same rows earlier (its clock is behind).
    const messages = (origin, kOffset) => {
      const list = [];
      for (let s = 0; s < n; s += 1000) {
        const ps = [];
        for (let k = s; k < Math.min(n, s + 1000); k++) ps.push(patch(origin, k + 1, ids[k], k + kOffset));
        list.push(encode(ps));
      }
      return list;
    };
    const newer = messages(0xa, 10 * n);
    const older = messages(0xb, 0);
    const objects = ids.map((id) => row(id));
    for (const path of REPLIC_PATHS) {
      const samples = { "by-row": [], "by-origin": [] };
      const pass = async (layout) => {
        const db = await openDb(binding, dir, "replic-layout");
        try {
          db.exec(ITEMS_DDL);
          if (layout === "by-row") for (const ddl of LAYOUTS["by-row"]) db.exec(ddl);
          else db.exec(adapter.patchesDdl(db.native, "items"));
          const replica = adapter.openReplica(db.native, { peerId: 1, heartbeatMs: 0 });
          if (path === "receive-late" || path === "gc") for (const m of newer) replica.receive(0xa, m);
          const t0 = now();
          if (path === "upsertMany") replica.upsertMany("items", objects);
          else if (path === "gc") {
            if (replica.gc() !== 0) throw new Error("gc collected patches inside the retention window");
          } else for (const m of path === "receive" ? newer : older) replica.receive(path === "receive" ? 0xa : 0xb, m);
          const secs = (now() - t0) / 1000;
          replica.close();
          const count = Number(db.get("SELECT count(*) FROM items_patches")[0]);
          const expected = path === "receive-late" ? 2 * n : n;
          if (count !== expected) throw new Error(`replic ${path} on ${layout}: ${count} patches stored, ${expected} expected`);
          return path === "gc" ? secs * 1000 : n / secs;
        } finally {
          db.close();
        }
      };
      await pass("by-origin"); // warm-up
      for (let r = 0; r < runs; r++) for (const layout of Object.keys(samples)) samples[layout].push(await pass(layout));
      out[`${path}/${order}`] = samples;
      process.stderr.write(`[patch-layout] ${binding} replic ${path}/${order}: ` +
        Object.entries(samples).map(([k, v]) => (path === "gc" ? `${k} ${median(v).toFixed(2)} ms` : `${k} ${Math.round(median(v))}/s`)).join(", ") + "\n");
    }
  }
  return out;
}

/** The bound parameters of the benchmark rows, ids in the given order. */
function makeRows(n, order) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    // A fixed permutation of 32-bit ids (multiplicative hashing): the same "random" keys everywhere.
    const id = order === "seq" ? i + 1 : Number((BigInt(i + 1) * 2654435761n) % 4294967291n);
    const r = row(id);
    out[i] = COLUMNS.map((c) => r[c]);
  }
  return out;
}

/** One measured pass: rows per second, and WAL frames per commit for `single` on WAL bindings. */
async function once(binding, dir, variant, mix, data, patches, cacheKiB) {
  const db = await openDb(binding, dir, "layout");
  const native = db.native;
  const wal = binding !== "wasm";
  try {
    if (cacheKiB) db.exec(`PRAGMA cache_size = -${cacheKiB}`);
    db.exec(ITEMS_DDL);
    if (variant !== "raw") for (const ddl of LAYOUTS[variant]) db.exec(ddl);
    if (wal) db.exec("PRAGMA wal_autocheckpoint = 0");
    const st = statements(binding, native, variant !== "raw");
    const n = data.length;
    const t0 = now();
    if (mix === "single") {
      for (let i = 0; i < n; i++) {
        db.exec("BEGIN");
        st.upsert1(data[i]);
        if (st.patch1) st.patch1(patches[i]);
        db.exec("COMMIT");
      }
    } else {
      db.exec("BEGIN");
      const up = [];
      const pp = [];
      for (let i = 0; i < n; i++) {
        if (mix === "many") up.push(...data[i]);
        else st.upsert1(data[i]);
        if (st.patch1) pp.push(...patches[i]);
        if ((i + 1) % BATCH === 0 || i === n - 1) {
          const rows = (i % BATCH) + 1;
          if (mix === "many") st.upsertN(rows, up);
          if (st.patch1) st.patchN(rows, pp);
          up.length = 0;
          pp.length = 0;
        }
      }
      db.exec("COMMIT");
    }
    const secs = (now() - t0) / 1000;
    const count = Number(db.get("SELECT count(*) FROM items")[0]);
    if (count !== n) throw new Error(`${variant}/${mix}: ${count} rows stored, ${n} written`);
    // WAL frames written by the measured commits (the header is 32 bytes, each frame 24 + page).
    const frames = wal && mix === "single" ? (statSync(db.path + "-wal").size - 32) / (4096 + 24) / n : undefined;
    st.close();
    return { rate: n / secs, frames };
  } finally {
    db.close(); // removes its files
  }
}

/** The patch row replic would store for the i-th write: the row, then stamp, sequence, origin. */
function patchRow(r, i) {
  return [...r, T0 + i, i + 1, PEER, null];
}

/** Prepared one-row and multi-row statements on the binding's own API (as the SQL-only bound). */
function statements(binding, native, patches) {
  const insertSql = (rows) =>
    `INSERT INTO ${P} (id, name, qty, price, note, deletedAt, "_patchedAt", "_sequenceId", "_peerId", "_nulls") VALUES ` +
    new Array(rows).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ") + " ON CONFLICT DO NOTHING";
  const upsertSql = (rows) => RAW_UPSERT_SQL.replace("(?, ?, ?, ?, ?, ?)", new Array(rows).fill("(?, ?, ?, ?, ?, ?)").join(", "));
  // Prepared once per statement and row count: no SQL text is built or hashed in the timed loop.
  const cache = { insert: [], upsert: [] };
  const prep = (kind, rows) => (cache[kind][rows] ??= native.prepare(kind === "insert" ? insertSql(rows) : upsertSql(rows)));
  // better-sqlite3 and bun:sqlite take spread arguments; node-sqlite3-wasm one array.
  const run = binding === "wasm" ? (kind, rows, params) => prep(kind, rows).run(params) : (kind, rows, params) => prep(kind, rows).run(...params);
  return {
    upsert1: (params) => run("upsert", 1, params),
    upsertN: (rows, params) => run("upsert", rows, params),
    patch1: patches ? (params) => run("insert", 1, params) : undefined,
    patchN: (rows, params) => run("insert", rows, params),
    close: () => {
      if (binding === "wasm") for (const list of Object.values(cache)) list.forEach((s) => s.finalize());
    },
  };
}

function report(doc) {
  const fmt = (x) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(2));
  const lines = [
    `# T_patches layouts: the SQL of a replic write on each layout (${doc.date})`,
    "",
    `Produced by \`node bench/patch-layout.mjs\` in ${doc.seconds.toFixed(0)} s; ${doc.runs} runs per figure, ` +
      `medians; ${doc.nRows.toLocaleString("en")} rows (single: ${doc.nSingle.toLocaleString("en")}); ` +
      `page cache ${doc.cacheKiB ? `${doc.cacheKiB.toLocaleString("en")} KiB (PRAGMA cache_size)` : "SQLite's default (2,000 KiB)"}. ` +
      `Machine: ${doc.machine.cpuCount} × ${doc.machine.cpuModel}, Node ${doc.machine.node}, Bun ${doc.machine.bun}; SQLite ${Object.entries(doc.machine.sqlite).map(([k, v]) => `${v} (${k})`).join(", ")}.`,
    "",
    "Each figure is rows/s of the layout's statement mix divided by rows/s of the raw upsert of the same rows, " +
      "same binding, same process (higher is better; 1.00 would be free). `by-origin` is what `patchesDdl` prints " +
      "now, `by-row` what it printed before. " +
      "The two `no-…` columns are floors with one B-tree fewer that replic cannot use (they drop the " +
      "duplicate check and range reads, or the late-patch probe).",
    "",
  ];
  for (const [binding, r] of Object.entries(doc.results)) {
    lines.push(`## ${BINDING_LABEL[binding]}`, "");
    const names = Object.keys(LAYOUTS);
    lines.push(`| mix / keys | raw rows/s | ${names.join(" | ")} |`, `|---|---:|${names.map(() => "---:").join("|")}|`);
    for (const [key, s] of Object.entries(r.out)) {
      const raw = median(s.raw.rate);
      lines.push(`| ${key} | ${Math.round(raw).toLocaleString("en")} | ${names.map((v) => fmt(median(s[v].rate) / raw)).join(" | ")} |`);
    }
    const single = Object.entries(r.out).filter(([k]) => k.startsWith("single/"));
    if (single.some(([, s]) => s.raw.frames.length > 0)) {
      lines.push("", `WAL frames (4 KiB pages) written per commit, single mix:`, "");
      lines.push(`| keys | raw | ${names.join(" | ")} |`, `|---|---:|${names.map(() => "---:").join("|")}|`);
      for (const [key, s] of single) lines.push(`| ${key.slice(7)} | ${fmt(median(s.raw.frames))} | ${names.map((v) => fmt(median(s[v].frames))).join(" | ")} |`);
    }
    if (r.replic) {
      lines.push("", `replic itself, ${doc.replicRows.toLocaleString("en")} rows, rows/s (medians; gc: ms per collection pass that finds nothing to collect) on each layout:`, "");
      lines.push("| path / keys | by-row | by-origin (patchesDdl) | by-origin / by-row (speed) |", "|---|---:|---:|---:|");
      for (const [key, s] of Object.entries(r.replic)) {
        const a = median(s["by-row"]);
        const b = median(s["by-origin"]);
        if (key.startsWith("gc/")) lines.push(`| ${key} (ms) | ${a.toFixed(2)} | ${b.toFixed(2)} | ${fmt(a / b)} |`);
        else lines.push(`| ${key} | ${Math.round(a).toLocaleString("en")} | ${Math.round(b).toLocaleString("en")} | ${fmt(b / a)} |`);
      }
    }
    lines.push("");
  }
  return lines.join("\n") + "\n";
}
