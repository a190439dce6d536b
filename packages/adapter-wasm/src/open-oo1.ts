/**
 * `openOo1Replica`: a replica on a database of the official SQLite WASM build. Its own file so
 * the browser entry can export it without the Node entry's node-sqlite3-wasm code.
 */
import { createReplica } from "@replic/core";
import type { AnyTables, KeyColumns, Replica, ReplicaOptions } from "@replic/core";
import { createOo1Driver } from "./oo1";
import type { Oo1Database, Sqlite3Static } from "./oo1";

/**
 * Opens a replica on a database of the official SQLite WASM build (`sqlite3.oo1.DB`, e.g. an
 * OPFS database in a worker). `sqlite3` is the object `sqlite3InitModule()` resolved to.
 * `replica.close()` does not close `db`.
 */
export function openOo1Replica<DB extends object = AnyTables, Keys extends KeyColumns<DB> = {}>(db: Oo1Database, sqlite3: Sqlite3Static, options: ReplicaOptions = {}): Replica<DB, Keys> {
  return createReplica<DB, Keys>(createOo1Driver(db, sqlite3), options);
}
