// A second opener of one database file, runnable under Node and Bun (plain ESM):
//
//   <runtime> opener-child.mjs <driver> <adapterEntry> <nativeModule> <dbPath> <mode> [count]
//
// mode "write": opens the file, migrates, writes <count> rows, prints each token, closes, exits 0.
// mode "drop": writes 3 items and 3 tags, prints "migrating", runs the migration that drops
// tags_patches (slow on purpose, so a kill lands inside it), prints "migrated", then writes items
// forever. Every token is printed (through writeSync) only after upsert returned.
import { writeSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { DROP_MIGRATIONS, OPENER_MIGRATIONS } from "./opener-shared.mjs";

const [driver, adapterEntry, nativeModule, dbPath, mode, countArg] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const out = (line) => writeSync(1, line + "\n");

async function openDatabase() {
  if (driver === "bun:sqlite") return new (await import("bun:sqlite")).Database(dbPath);
  if (driver === "better-sqlite3") return new (require(nativeModule))(dbPath);
  if (driver === "node-sqlite3-wasm") return new (require(nativeModule).Database)(dbPath);
  throw new Error(`unknown driver ${driver}`);
}

async function main() {
  const adapter = await import(pathToFileURL(adapterEntry).href);
  const db = await openDatabase();
  let replica;
  try {
    replica = adapter.openReplica(db, { heartbeatMs: 0 });
  } catch (e) {
    if (e?.code !== "DATABASE_LOCKED") throw e;
    out(`refused ${e.code} ${e.pid}`); // an adapter that holds a file for one process at a time
    process.exit(4);
  }
  out(`peer ${replica.peerId}`);
  if (mode === "write") {
    replica.migrate(OPENER_MIGRATIONS);
    for (let i = 0; i < Number(countArg); i++) out(replica.upsert("items", { id: 1000 + i, name: "child" }));
    replica.close();
    db.close();
    return;
  }
  replica.migrate(OPENER_MIGRATIONS);
  for (let i = 0; i < 3; i++) {
    out(replica.upsert("items", { id: i, name: "before" }));
    out(replica.upsert("tags", { id: `t${i}`, label: "x" }));
  }
  out("migrating");
  replica.migrate(DROP_MIGRATIONS);
  out("migrated");
  for (let i = 0; ; i++) out(replica.upsert("items", { id: 100 + i, name: "after" }));
}

main().catch((e) => {
  writeSync(2, `opener-child failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(3);
});
