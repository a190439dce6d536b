#!/usr/bin/env node
// Which SQL statements does replic run per row, and how long do they take? Wraps the adapter's
// driver (createDriver) with a timer per statement and runs one workload shape, then prints
// statements per row and time per statement next to a raw upsert of the same rows, then replays
// exactly those statements (same SQL, same parameters, same driver) on a fresh database without
// replic's JavaScript: the ratio raw / replay is the best this statement mix can reach.
//
//   node bench/sql-profile.mjs node batched 100000      # better-sqlite3
//   node bench/sql-profile.mjs wasm merge 100000         # node-sqlite3-wasm
//   bench/node_modules/.bin/bun bench/sql-profile.mjs bun single 20000
// modes: batched (one transaction), single (one transaction per row), merge (receive() of
// 1,000-patch messages from another peer).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ITEMS_DDL, TABLE, rows } from "./lib/data.mjs";
import { openDb } from "./lib/bindings.mjs";
import { adapterFor, core as loadCore } from "./lib/replic.mjs";
import { singleOriginHistory } from "./lib/history.mjs";
import { now } from "./lib/proc.mjs";

const [binding = "node", mode = "batched", nArg = "100000"] = process.argv.slice(2);
const n = Number(nArg);
const dir = mkdtempSync(join(os.tmpdir(), "replic-sqlprof-"));
const adapter = await adapterFor(binding);
const core = await loadCore();
if (typeof adapter.createDriver !== "function") throw new Error("adapter exports no createDriver");

const stats = new Map();
const log = []; // [sql, params] of every statement replic ran, replayed below without replic
let logging = false;
function timed(driver) {
  return {
    name: driver.name,
    exec: (sql) => driver.exec(sql),
    release: driver.release?.bind(driver),
    prepare(sql) {
      const st = driver.prepare(sql);
      const key = sql.replace(/\s+/g, " ").trim();
      const wrap = (fn) => (p) => {
        if (logging) log.push([sql, p.slice()]);
        let s = stats.get(key);
        if (!s) stats.set(key, (s = { count: 0, ms: 0 }));
        const t = now();
        try {
          return fn(p);
        } finally {
          s.count++;
          s.ms += now() - t;
        }
      };
      return { run: wrap((p) => st.run(p)), get: wrap((p) => st.get(p)), all: wrap((p) => st.all(p)) };
    },
  };
}

const data = rows(1, n);
// Warm-up of the binding and the JIT (raw upserts of 20,000 rows), so the raw figure is not a cold one.
{
  const w = await openDb(binding, dir, "warm");
  w.exec(ITEMS_DDL);
  const up = w.prepareUpsert();
  w.exec("BEGIN");
  for (const r of rows(1, 20_000)) up(r);
  w.exec("COMMIT");
  w.close();
}
// Raw baseline, same shape.
const raw = await openDb(binding, dir, "raw");
raw.exec(ITEMS_DDL);
const up = raw.prepareUpsert();
let t0 = now();
if (mode === "single") for (const r of data) up(r);
else {
  const batch = mode === "merge" ? 1000 : n;
  for (let i = 0; i < n; i += batch) {
    raw.exec("BEGIN");
    for (let k = i; k < Math.min(n, i + batch); k++) up(data[k]);
    raw.exec("COMMIT");
  }
}
const rawMs = now() - t0;
raw.close();

const db = await openDb(binding, dir, "replic");
db.exec(ITEMS_DDL);
db.exec(adapter.patchesDdl(db.native, TABLE));
const replica = core.createReplica(timed(adapter.createDriver(db.native)), { peerId: 7, heartbeatMs: 0 });
const history = mode === "merge" ? singleOriginHistory(core, { origin: 9, count: n, batch: 1000 }) : null;
if (history) replica.addPeer(9, () => {});
stats.clear();
logging = true;
t0 = now();
if (mode === "batched") replica.transaction(() => data.forEach((r) => replica.upsert(TABLE, r)));
else if (mode === "single") data.forEach((r) => replica.upsert(TABLE, r));
else for (const m of history.messages) replica.receive(9, m);
const replicMs = now() - t0;
logging = false;
replica.close();
db.close();

// The same statements with the same parameters, replayed through the same driver on a fresh
// database with the same schema: the SQLite floor of what replic asked for, without its JS.
const db2 = await openDb(binding, dir, "replay");
db2.exec(ITEMS_DDL);
db2.exec(adapter.patchesDdl(db2.native, TABLE));
core.createReplica(adapter.createDriver(db2.native), { peerId: 7, heartbeatMs: 0 }).close();
const drv = adapter.createDriver(db2.native);
const prepared = new Map();
const replay = log.map(([sql, p]) => {
  let st = prepared.get(sql);
  if (!st) prepared.set(sql, (st = drv.prepare(sql)));
  return [st, p];
});
t0 = now();
for (const [st, p] of replay) st.run(p);
const replayMs = now() - t0;
drv.release?.();
db2.close();
rmSync(dir, { recursive: true, force: true });

let sqlMs = 0;
for (const s of stats.values()) sqlMs += s.ms;
console.log(`${binding} ${mode} ${n.toLocaleString("en-US")} rows: raw ${rawMs.toFixed(0)} ms, replic ${replicMs.toFixed(0)} ms (ratio ${(rawMs / replicMs).toFixed(2)}); replic time in SQL statements ${sqlMs.toFixed(0)} ms (${((100 * sqlMs) / replicMs).toFixed(0)}%), outside ${(replicMs - sqlMs).toFixed(0)} ms`);
console.log(`replay of replic's ${log.length.toLocaleString("en-US")} statements without replic's JS: ${replayMs.toFixed(0)} ms (raw / replay = ${(rawMs / replayMs).toFixed(2)}: the best ratio this statement mix allows)`);
console.log("per row  ms total  µs/call  statement");
for (const [sql, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(`${(s.count / n).toFixed(3).padStart(7)}  ${s.ms.toFixed(0).padStart(8)}  ${((1000 * s.ms) / s.count).toFixed(2).padStart(7)}  ${sql.slice(0, 160)}`);
}
