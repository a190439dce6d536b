#!/usr/bin/env node
// What divergence detection and repair cost (docs/trust.md), on better-sqlite3 (a file in WAL):
//   round       one heartbeat round (tick(), no neighbours) with the scrub at rowsPerRound
//               100 and 1000, next to the same round with the scrub off: the scrub's share per
//               round, on tables of different sizes (it must not grow with the table)
//   rebuild     replica.rebuild() of the whole table when nothing differs (a full check), and
//               when 1 % of the rows were changed by direct SQL (check + repair), ms per 10k rows
//
//   node bench/scrub.mjs                       # tables of 10k and 200k rows
//   node bench/scrub.mjs --rows 10000,1000000  # other sizes
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { ITEMS_DDL, rows as dataRows } from "./lib/data.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");
const { openReplica, patchesDdl } = await import("@replic/adapter-node");

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sizes = arg("rows", "10000,200000").split(",").map(Number);
const dir = mkdtempSync(join(os.tmpdir(), "replic-scrub-bench-"));

function open(n, options) {
  const path = join(dir, `items-${n}.db`);
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const fresh = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'items'").get().n === 0;
  if (fresh) {
    db.exec(ITEMS_DDL);
    db.exec(patchesDdl(db, "items"));
  }
  const r = openReplica(db, { heartbeatMs: 0, retentionMs: 0, peerId: 7, ...options });
  if (fresh) for (let i = 0; i < n; i += 5000) r.upsertMany("items", dataRows(i + 1, Math.min(5000, n - i)));
  return { db, r };
}

/** Median ms of `fn` over `runs` runs of `reps` calls each. */
function time(fn, reps, runs = 5) {
  const out = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    out.push((performance.now() - t0) / reps);
  }
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)];
}

const lines = [`# scrub and rebuild, better-sqlite3 (file, WAL), ${os.cpus().length} cores, Node ${process.version}`, ""];
lines.push("| rows | round, scrub off (ms) | round, 100 keys (ms) | round, 1000 keys (ms) | rebuild, nothing differs (ms / 10k rows) | rebuild, 1 % changed (ms / 10k rows) |", "|---|---|---|---|---|---|");
for (const n of sizes) {
  const round = {};
  for (const per of [0, 100, 1000]) {
    const { db, r } = open(n, { scrub: { rowsPerRound: per } });
    for (let i = 0; i < 20; i++) r.tick(); // warm the statements and the cache
    round[per] = time(() => r.tick(), 200);
    r.close();
    db.close();
  }
  const { db, r } = open(n, { scrub: { rowsPerRound: 0 } });
  const full = time(() => r.rebuild("items"), 1, 3);
  const changed = Math.max(1, Math.floor(n / 100));
  const repairs = [];
  for (let k = 0; k < 3; k++) {
    db.prepare(`UPDATE items SET qty = -1 WHERE id % 100 = ${k}`).run();
    const t0 = performance.now();
    const [rep] = r.rebuild("items");
    repairs.push(performance.now() - t0);
    if (rep.updated !== changed) throw new Error(`rebuild put back ${rep.updated} rows, expected ${changed}`);
  }
  repairs.sort((a, b) => a - b);
  r.close();
  db.close();
  const per10k = (ms) => ((ms * 10_000) / n).toFixed(1);
  lines.push(`| ${n} | ${round[0].toFixed(3)} | ${round[100].toFixed(3)} | ${round[1000].toFixed(3)} | ${per10k(full)} | ${per10k(repairs[1])} |`);
  console.error(lines[lines.length - 1]);
}
rmSync(dir, { recursive: true, force: true });
console.log(lines.join("\n"));
