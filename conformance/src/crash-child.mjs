// Crash-test child, runnable under Node and Bun (plain ESM, no TypeScript).
//
//   <runtime> crash-child.mjs <driver> <adapterEntry> <nativeModule> <dbPath> <runIndex>
//
// driver: better-sqlite3 | bun:sqlite | node-sqlite3-wasm
// adapterEntry: file path of the adapter package's ESM entry (its dist/index.js)
// nativeModule: resolved path of the native SQLite binding (ignored for bun:sqlite)
//
// Opens the database file, migrates, prints "peer <peerId>", then upserts forever, printing
// "<token> <id>" for every write only after upsert (or the transaction holding it) returned.
// Output goes through writeSync so a printed line is never left in a userland buffer.
import { writeSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [driver, adapterEntry, nativeModule, dbPath, runArg] = process.argv.slice(2);
const require = createRequire(import.meta.url);

const CRASH_MIGRATIONS = [
  {
    up:
      "CREATE TABLE crash_items (id INTEGER PRIMARY KEY, run INTEGER, label TEXT, payload BLOB);\n" +
      "CREATE TABLE crash_items_patches (id INTEGER, run INTEGER, label TEXT, payload BLOB, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);",
    down: "DROP TABLE crash_items_patches; DROP TABLE crash_items;",
  },
];

/** The row written for id (crash.ts recomputes it to check what is stored: keep in sync). */
function crashRow(id, run) {
  const payload = new Uint8Array(8);
  for (let i = 0; i < payload.length; i++) payload[i] = (id * 31 + i) & 0xff;
  return { id, run, label: `row-${id}`, payload };
}

async function openDatabase() {
  if (driver === "bun:sqlite") {
    const { Database } = await import("bun:sqlite");
    return new Database(dbPath);
  }
  if (driver === "better-sqlite3") {
    const Database = require(nativeModule);
    return new Database(dbPath);
  }
  if (driver === "node-sqlite3-wasm") {
    const { Database } = require(nativeModule);
    return new Database(dbPath);
  }
  throw new Error(`unknown driver ${driver}`);
}

async function main() {
  const adapter = await import(pathToFileURL(adapterEntry).href);
  const db = await openDatabase();
  const replica = adapter.openReplica(db, { heartbeatMs: 0 });
  replica.migrate(CRASH_MIGRATIONS);
  const out = (line) => writeSync(1, line + "\n");
  out(`peer ${replica.peerId}`);
  const run = Number(runArg);
  let id = run * 1_000_000;
  for (let i = 0; ; i++) {
    if (i % 5 === 4) {
      // A transaction of 3 writes: its tokens are printed only after it committed.
      const ids = [++id, ++id, ++id];
      const tokens = replica.transaction(() => ids.map((x) => replica.upsert("crash_items", crashRow(x, run))));
      tokens.forEach((t, k) => out(`${t} ${ids[k]}`));
    } else {
      const x = ++id;
      const token = replica.upsert("crash_items", crashRow(x, run));
      out(`${token} ${x}`);
    }
  }
}

main().catch((e) => {
  writeSync(2, `crash-child failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(3);
});
