#!/usr/bin/env node
// Which SQL statements does replic run per row, and how long do they take? Records replic's calls
// through the adapter's driver (lib/sql-recorder.mjs) for one path, prints statements per row and
// time per statement next to a raw upsert of the same rows, then replays exactly those statements
// (same SQL, same parameters) through the binding's own API on a fresh database without replic
// (lib/sql-replay.mjs, the SQL-only bound the bench reports): raw / replay is the best ratio this
// statement mix allows, replay / replic the share of it replic keeps.
//
//   node bench/sql-profile.mjs node batched 100000      # better-sqlite3
//   node bench/sql-profile.mjs wasm merge 100000         # node-sqlite3-wasm
//   bench/node_modules/.bin/bun bench/sql-profile.mjs bun single 20000
// paths: batched (upsert × N in one transaction), many (upsertMany), single (one transaction per
// row), merge (receive() of 1,000-patch messages from another peer).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ITEMS_DDL, TABLE, rows } from "./lib/data.mjs";
import { openDb } from "./lib/bindings.mjs";
import { adapterFor, core as loadCore, openRecordedReplicaOn, openReplicaOn } from "./lib/replic.mjs";
import { singleOriginHistory } from "./lib/history.mjs";
import { formatStatements } from "./lib/sql-recorder.mjs";
import { prepareReplay, replayPlan } from "./lib/sql-replay.mjs";
import { now } from "./lib/proc.mjs";

const [binding = "node", mode = "batched", nArg = "100000"] = process.argv.slice(2);
if (!["batched", "many", "single", "merge"].includes(mode)) throw new Error(`unknown path ${mode}: batched, many, single or merge`);
const n = Number(nArg);
const dir = mkdtempSync(join(os.tmpdir(), "replic-sqlprof-"));
const adapter = await adapterFor(binding);
const core = await loadCore();

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
const { replica, rec } = openRecordedReplicaOn(adapter, db, 7);
const history = mode === "merge" ? singleOriginHistory(core, { origin: 9, count: n, batch: 1000 }) : null;
if (history) replica.addPeer(9, () => {});
rec.reset();
rec.start();
t0 = now();
if (mode === "batched") replica.transaction(() => data.forEach((r) => replica.upsert(TABLE, r)));
else if (mode === "many") replica.upsertMany(TABLE, data);
else if (mode === "single") data.forEach((r) => replica.upsert(TABLE, r));
else for (const m of history.messages) replica.receive(9, m);
const replicMs = now() - t0;
rec.stop();
const statements = rec.statements();
replica.close();
const writer = db.get("SELECT writer FROM _replic_state WHERE id = 1")[0];
db.close();

// The same statements with the same parameters, through the binding's own API on a fresh
// database with the same schema: the SQLite floor of what replic asked for, without its JS.
const db2 = await openDb(binding, dir, "replay");
openReplicaOn(adapter, db2, 7).close();
db2.exec(`UPDATE _replic_state SET writer = ${writer} WHERE id = 1`);
const replay = prepareReplay(db2, replayPlan(binding, rec.log));
const replayMs = replay.run();
replay.finalize();
db2.close();
rmSync(dir, { recursive: true, force: true });

let sqlMs = 0;
for (const s of statements) sqlMs += s.ms;
console.log(`${binding} ${mode} ${n.toLocaleString("en-US")} rows: raw ${rawMs.toFixed(0)} ms, replic ${replicMs.toFixed(0)} ms (replic / raw ${(rawMs / replicMs).toFixed(2)}); replic time in SQL statements (through the driver) ${sqlMs.toFixed(0)} ms (${((100 * sqlMs) / replicMs).toFixed(0)}%), outside ${(replicMs - sqlMs).toFixed(0)} ms`);
console.log(`replay of replic's ${rec.log.length.toLocaleString("en-US")} statement calls without replic: ${replayMs.toFixed(0)} ms (SQL-only bound / raw = ${(rawMs / replayMs).toFixed(2)}: the best ratio this statement mix allows; replic / bound = ${(replayMs / replicMs).toFixed(2)})`);
console.log(formatStatements(statements, n));
