/**
 * The canonical history on @sqlite.org/sqlite-wasm in a worker, twice: on in-memory databases and
 * on OPFS files through the opfs-sahpool VFS (the storage the browser adapter uses).
 */
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { decodeMessage, openOo1Replica } from "@replic/adapter-wasm/browser";
import { runCanonical, type CanonicalBinding } from "./canonical-run";
import { runRandom, RANDOM_SEEDS } from "./random-run";

type Sqlite3 = Awaited<ReturnType<typeof sqlite3InitModule>>;
type Db = InstanceType<Sqlite3["oo1"]["DB"]>;

function binding(sqlite3: Sqlite3, openDb: (i: number) => Db, dbs: Db[]): CanonicalBinding<Db> {
  return {
    open(options) {
      const db = openDb(dbs.length);
      dbs.push(db);
      return { db, replica: openOo1Replica(db, sqlite3, options) };
    },
    all: (db, sql) => db.selectObjects(sql) as Record<string, unknown>[],
  };
}

function play(sqlite3: Sqlite3, openDb: (i: number) => Db) {
  const dbs: Db[] = [];
  const result = runCanonical<Db>(binding(sqlite3, openDb, dbs));
  for (const db of dbs) db.close();
  return result;
}

function randomHistories(sqlite3: Sqlite3) {
  return RANDOM_SEEDS.map((seed) => {
    const dbs: Db[] = [];
    const run = runRandom<Db>(binding(sqlite3, () => new sqlite3.oo1.DB(":memory:", "c"), dbs), decodeMessage, seed);
    for (const db of dbs) db.close();
    return run;
  });
}

async function main() {
  const sqlite3 = await sqlite3InitModule();
  const memory = play(sqlite3, () => new sqlite3.oo1.DB(":memory:", "c"));
  // A private pool, emptied on start: four databases and their journals.
  const pool = await sqlite3.installOpfsSAHPoolVfs({ name: "canonical", directory: ".canonical", clearOnInit: true, initialCapacity: 12 });
  const opfs = play(sqlite3, (i) => new pool.OpfsSAHPoolDb(`/canonical-${i}.sqlite3`));
  const files = pool.getFileNames();
  const random = randomHistories(sqlite3);
  return { ...memory, random, opfs: { targetDump: opfs.targetDump, originDumps: opfs.originDumps, wire: opfs.wire, files }, sqlite: sqlite3.version.libVersion };
}

main().then(
  (r) => postMessage(r),
  (err: unknown) => postMessage({ error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) }),
);
