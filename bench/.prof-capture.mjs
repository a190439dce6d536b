import { mkdtempSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { TABLE, rows } from "./lib/data.mjs";
import { openDb } from "./lib/bindings.mjs";
import { adapterFor, openReplicaOn } from "./lib/replic.mjs";
import { now } from "./lib/proc.mjs";
const binding = process.argv[2] ?? "node";
const N = Number(process.argv[3] ?? 20000);
const adapter = await adapterFor(binding);
const tmp = mkdtempSync(join(os.tmpdir(), "cap-prof-"));
const data = rows(1, N);
const INSERT_SQL = "INSERT INTO items(id, name, qty, price, note, deletedAt) VALUES (?, ?, ?, ?, ?, ?)";
for (let round = 0; round < 5; round++) {
  for (const cap of [false, true]) {
    const dbh = await openDb(binding, tmp, "cap" + round + cap);
    let replica;
    if (cap) replica = openReplicaOn(adapter, dbh, 0x4001, { capture: [TABLE] });
    else dbh.exec("CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, note TEXT, deletedAt INTEGER)");
    const st = dbh.native.prepare(INSERT_SQL);
    const run = binding === "wasm" ? (p) => st.run(p) : (p) => st.run(...p);
    const t0 = now();
    dbh.exec("BEGIN");
    for (const r of data) run([r.id, r.name, r.qty, r.price, r.note, r.deletedAt]);
    dbh.exec("COMMIT");
    const t1 = now();
    replica?.flush();
    const t2 = now();
    console.log(cap ? "captured" : "raw", "write", (t1 - t0).toFixed(1), "drain", (t2 - t1).toFixed(1), "seq", replica?.status().sequence);
    replica?.close();
    dbh.close();
  }
}
