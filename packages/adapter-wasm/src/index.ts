/**
 * @replic/adapter-wasm: replic on WASM SQLite.
 *
 * In Node, Bun and Deno: node-sqlite3-wasm (no native build step).
 * ```ts
 * import { openDatabase, openReplica } from "@replic/adapter-wasm";
 * const replica = openReplica(openDatabase("app.db"), { peerId: 1 });
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
import type { AnyTables, KeyColumns, Replica, ReplicaOptions } from "@replic/core";
import { createDriver } from "./driver";
import { createOo1Driver } from "./oo1";
import { openOo1Replica } from "./open-oo1";
import { clearStaleLock, recoverAfterCrash, type RecoveryReport } from "./lock";
import { claimFile } from "./file-owner";
import { openDatabase, type OpenDatabaseOptions } from "./open-database";
import type { Oo1Database, Oo1Stmt, Sqlite3Static } from "./oo1";

export * from "@replic/core";
export { createDriver, createOo1Driver, openOo1Replica, openDatabase, clearStaleLock, recoverAfterCrash };
export type { RecoveryReport, OpenDatabaseOptions };
export type { Oo1Database, Oo1Stmt, Sqlite3Static };

/**
 * Opens a replica on a node-sqlite3-wasm database. Synchronous. `replica.close()` does not
 * close `db`: the database stays yours. `openReplica<DB>(db)` types the rows (docs/typed-rows.md).
 *
 * On a file, the replica also holds the file for this process until `replica.close()`, as
 * `openDatabase` does: a file opened with plain `new Database(path)` after a crash is recovered
 * here (nothing can have read it yet: node-sqlite3-wasm's stale lock refused every statement),
 * and a file a live process holds is refused with DATABASE_LOCKED.
 */
export function openReplica<DB extends object = AnyTables, Keys extends KeyColumns<DB> = {}>(db: Database, options: ReplicaOptions = {}): Replica<DB, Keys> {
  const file = mainFile(db);
  const release = file === "" ? undefined : claimFile(file);
  try {
    const driver = createDriver(db);
    if (release === undefined) return createReplica<DB, Keys>(driver, options);
    return createReplica<DB, Keys>(
      {
        ...driver,
        release() {
          try {
            driver.release?.();
          } finally {
            release();
          }
        },
      },
      options,
    );
  } catch (e) {
    release?.();
    throw e;
  }
}

/** The file of the main database; "" in memory. Reads no page, so works while the file is locked. */
function mainFile(db: Database): string {
  const row = (db.all("PRAGMA database_list") as { name: string; file: string }[]).find((r) => r.name === "main");
  return row?.file ?? "";
}

/**
 * The `T_patches` DDL (and recommended indexes) for table `table` of `db`. The statements it
 * reads the schema with are finalized before it returns: one left open would keep `db`'s memory
 * (and file) after `db.close()`.
 */
export function patchesDdl(db: Database, table: string): ReturnType<typeof corePatchesDdl> {
  const driver = createDriver(db);
  try {
    return corePatchesDdl(driver, table);
  } finally {
    driver.release?.();
  }
}
