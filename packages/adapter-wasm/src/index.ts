/**
 * @replic/adapter-wasm: replic on WASM SQLite.
 *
 * In Node: node-sqlite3-wasm (no native build step).
 * ```ts
 * import { Database } from "node-sqlite3-wasm";
 * import { openReplica } from "@replic/adapter-wasm";
 * const replica = openReplica(new Database("app.db"), { peerId: 1 });
 * ```
 * In browsers / edge runtimes: the official SQLite WASM build (@sqlite.org/sqlite-wasm), through
 * its "oo1" API: `openOo1Replica(db, sqlite3)` / `createOo1Driver(db, sqlite3)` (see ./oo1.ts).
 * A browser bundle should import `@replic/adapter-wasm/browser` instead: the same oo1 API plus
 * OPFS, a worker protocol and `watch`, without this entry's Node-only code.
 *
 * Everything from @replic/core is re-exported, so this is the only import an app needs.
 */
import type { Database } from "node-sqlite3-wasm";
import { createReplica, patchesDdl as corePatchesDdl } from "@replic/core";
import type { Replica, ReplicaOptions } from "@replic/core";
import { createDriver } from "./driver";
import { createOo1Driver } from "./oo1";
import { openOo1Replica } from "./open-oo1";
import { clearStaleLock, recoverAfterCrash, type RecoveryReport } from "./lock";
import type { Oo1Database, Oo1Stmt, Sqlite3Static } from "./oo1";

export * from "@replic/core";
export { createDriver, createOo1Driver, openOo1Replica, clearStaleLock, recoverAfterCrash };
export type { RecoveryReport };
export type { Oo1Database, Oo1Stmt, Sqlite3Static };

/**
 * Opens a replica on a node-sqlite3-wasm database. Synchronous. `replica.close()` does not
 * close `db`: the database stays yours.
 */
export function openReplica(db: Database, options: ReplicaOptions = {}): Replica {
  return createReplica(createDriver(db), options);
}

/** The `T_patches` DDL (and recommended indexes) for table `table` of `db`. */
export function patchesDdl(db: Database, table: string): ReturnType<typeof corePatchesDdl> {
  return corePatchesDdl(createDriver(db), table);
}
