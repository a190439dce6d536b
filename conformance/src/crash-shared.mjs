// Shared by the crash-test child (crash-child.mjs, plain ESM under Node and Bun) and the parent
// (crash.ts): the schema, the rows written, and the remote origin, so both sides agree; and how
// a crash child opens its file (group-crash-child.mjs opens it the same way).
import { createRequire } from "node:module";

export const REMOTE_PEER = 777;
export const PATCHES_PER_MESSAGE = 4;
/** Rows each per-run migration inserts: enough work that kills land inside it. */
export const ROWS_PER_MIGRATION = 2000;

const BASE = {
  up:
    "CREATE TABLE crash_items (id INTEGER PRIMARY KEY, run INTEGER, label TEXT, payload BLOB);\n" +
    "CREATE TABLE crash_items_patches (id INTEGER, run INTEGER, label TEXT, payload BLOB, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);\n" +
    "CREATE TABLE crash_remote (id INTEGER PRIMARY KEY, v TEXT, n INTEGER);\n" +
    "CREATE TABLE crash_remote_patches (id INTEGER, v TEXT, n INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);\n" +
    "CREATE TABLE crash_runs (run INTEGER NOT NULL, i INTEGER NOT NULL, PRIMARY KEY (run, i));",
  down: "DROP TABLE crash_runs; DROP TABLE crash_remote_patches; DROP TABLE crash_remote; DROP TABLE crash_items_patches; DROP TABLE crash_items;",
};

/** The base schema, then one migration per run so far (each inserts ROWS_PER_MIGRATION rows). */
export function crashMigrations(runs) {
  const list = [BASE];
  for (let k = 1; k <= runs; k++) {
    list.push({
      up: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS_PER_MIGRATION}) INSERT INTO crash_runs (run, i) SELECT ${k}, x FROM c;`,
      down: `DELETE FROM crash_runs WHERE run = ${k};`,
    });
  }
  return list;
}

/** The row written for id (the parent recomputes it to check what is stored). */
export function crashRow(id, run) {
  const payload = new Uint8Array(8);
  for (let i = 0; i < payload.length; i++) payload[i] = (id * 31 + i) & 0xff;
  return { id, run, label: `row-${id}`, payload };
}

/**
 * Opens the database file with the binding `driver` names (better-sqlite3 | bun:sqlite |
 * node-sqlite3-wasm; `nativeModule` the resolved binding package, unused for bun:sqlite) in the
 * journal mode given: "wal" (journal_mode=WAL, synchronous=NORMAL: the recommended setup) or
 * "delete" (the rollback journal; node-sqlite3-wasm's only mode).
 */
export async function openCrashDatabase(driver, nativeModule, dbPath, journal) {
  let db;
  if (driver === "bun:sqlite") {
    const { Database } = await import("bun:sqlite");
    db = new Database(dbPath);
  } else if (driver === "better-sqlite3") {
    const Database = createRequire(import.meta.url)(nativeModule);
    db = new Database(dbPath);
  } else if (driver === "node-sqlite3-wasm") {
    const { Database } = createRequire(import.meta.url)(nativeModule);
    db = new Database(dbPath);
  } else throw new Error(`unknown driver ${driver}`);
  if (journal === "wal") db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  else if (driver !== "node-sqlite3-wasm") db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;");
  return db;
}
