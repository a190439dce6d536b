/** The canonical history on @sqlite.org/sqlite-wasm (oo1, in-memory databases) in a worker. */
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { openOo1Replica } from "@replic/adapter-wasm/browser";
import { runCanonical } from "./canonical-run";

async function main() {
  const sqlite3 = await sqlite3InitModule();
  const dbs: { close(): void }[] = [];
  const result = runCanonical({
    open(options) {
      const db = new sqlite3.oo1.DB(":memory:", "c");
      dbs.push(db);
      return { db, replica: openOo1Replica(db, sqlite3, options) };
    },
    all: (db, sql) => db.selectObjects(sql) as Record<string, unknown>[],
  });
  for (const db of dbs) db.close();
  return { ...result, sqlite: sqlite3.version.libVersion };
}

main().then(
  (r) => postMessage(r),
  (err: unknown) => postMessage({ error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) }),
);
