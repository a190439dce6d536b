// Crash-test child, runnable under Node and Bun (plain ESM, no TypeScript).
//
//   <runtime> crash-child.mjs <driver> <adapterEntry> <nativeModule> <dbPath> <runIndex> <journal> <messagesPath>
//
// driver: better-sqlite3 | bun:sqlite | node-sqlite3-wasm
// adapterEntry: file path of the adapter package's ESM entry (its dist/index.js)
// nativeModule: resolved path of the native SQLite binding (ignored for bun:sqlite)
// journal: wal (journal_mode=WAL, synchronous=NORMAL: the recommended setup) | delete (rollback journal)
// messagesPath: remote patches messages of origin 777, each prefixed by its uint32 LE length
//
// Does what an application does, printing a marker before each stage so the parent can kill it
// there: "start", opens the file and sets the journal mode ("opened"), openReplica ("replica"),
// "migrating", migrate ("migrated": this run's list has one more migration than the last run's),
// "peer <peerId>", then forever either a local write, printing "<token> <id>" once upsert (or
// its transaction) returned, or the next remote message, printing "recv <highest remote seq>"
// once receive returned. Output goes through writeSync, so a printed line is never left in a
// userland buffer. The sequence of steps is seeded by the run index.
import { readFileSync, writeSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { crashMigrations, crashRow, openCrashDatabase, PATCHES_PER_MESSAGE, REMOTE_PEER } from "./crash-shared.mjs";

const [driver, adapterEntry, nativeModule, dbPath, runArg, journal, messagesPath] = process.argv.slice(2);
const out = (line) => writeSync(1, line + "\n");

function readMessages() {
  const buf = readFileSync(messagesPath);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const messages = [];
  for (let at = 0; at < buf.length; ) {
    const n = view.getUint32(at, true);
    messages.push(new Uint8Array(buf.buffer, buf.byteOffset + at + 4, n));
    at += 4 + n;
  }
  return messages;
}

/** mulberry32, as conformance/src/util.ts prng(). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  out("start");
  const adapter = await import(pathToFileURL(adapterEntry).href);
  const db = await openCrashDatabase(driver, nativeModule, dbPath, journal);
  out("opened");
  const replica = adapter.openReplica(db, { heartbeatMs: 0 });
  out("replica");
  const run = Number(runArg);
  out("migrating");
  replica.migrate(crashMigrations(run));
  out("migrated");
  out(`peer ${replica.peerId}`);
  const messages = readMessages();
  const remote = replica.status().origins.find((o) => o.peerId === REMOTE_PEER);
  let next = Math.floor((remote ? remote.contiguous : 0) / PATCHES_PER_MESSAGE);
  const rand = prng(run * 7919 + 1);
  let id = run * 1_000_000;
  for (let i = 0; ; i++) {
    const r = rand();
    if (r < 0.25 && next < messages.length) {
      replica.receive(REMOTE_PEER, messages[next]);
      next++;
      out(`recv ${next * PATCHES_PER_MESSAGE}`);
    } else if (r < 0.45) {
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
