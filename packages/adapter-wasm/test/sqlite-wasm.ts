/** Loads the official SQLite WASM build (its Node entry: in-memory databases only) for tests. */
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";

export type Sqlite3 = Awaited<ReturnType<typeof sqlite3InitModule>>;

let loaded: Promise<Sqlite3> | undefined;

export function loadSqlite3(): Promise<Sqlite3> {
  // quiet the build's warnings ("sqlite3_step() rc=..." on expected errors)
  (globalThis as Record<string, unknown>).sqlite3ApiConfig = { warn: () => {} };
  const init = sqlite3InitModule as unknown as (opts: Record<string, unknown>) => Promise<Sqlite3>;
  return (loaded ??= init({ print: () => {}, printErr: () => {} }));
}

export const TODO_MIGRATIONS = [
  {
    up:
      "CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER, deletedAt INTEGER);" +
      "CREATE TABLE todos_patches (id TEXT, title TEXT, done INTEGER, deletedAt INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);" +
      "CREATE TABLE tags (id TEXT PRIMARY KEY, todo TEXT, name TEXT) ;" +
      "CREATE TABLE tags_patches (id TEXT, todo TEXT, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);",
    down: "DROP TABLE tags_patches; DROP TABLE tags; DROP TABLE todos_patches; DROP TABLE todos;",
  },
];
