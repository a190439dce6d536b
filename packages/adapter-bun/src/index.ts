/**
 * @replic/adapter-bun: replic on bun:sqlite.
 *
 * ```ts
 * import { Database } from "bun:sqlite";
 * import { openReplica } from "@replic/adapter-bun";
 * const replica = openReplica(new Database("app.db"), { peerId: 1 });
 * ```
 *
 * Everything from @replic/core is re-exported, so this is the only import an app needs.
 * bun:sqlite is imported as a type only: the database object comes from the caller.
 */
import type { Database } from "bun:sqlite";
import { createReplica, patchesDdl as corePatchesDdl } from "@replic/core";
import type { AnyTables, KeyColumns, Replica, ReplicaOptions } from "@replic/core";
import { createDriver } from "./driver";

export * from "@replic/core";
export { createDriver };

/**
 * Opens a replica on a bun:sqlite database. Synchronous. `replica.close()` does not close
 * `db`: the database stays yours. `openReplica<DB>(db)` types the rows from a Kysely-style
 * interface or a Drizzle schema type (docs/typed-rows.md); without it, rows are untyped.
 */
export function openReplica<DB extends object = AnyTables, Keys extends KeyColumns<DB> = {}>(db: Database, options: ReplicaOptions = {}): Replica<DB, Keys> {
  return createReplica<DB, Keys>(createDriver(db), options);
}

/** The `T_patches` DDL (and recommended indexes) for table `table` of `db`; the statements it reads the schema with are finalized before it returns. */
export function patchesDdl(db: Database, table: string): ReturnType<typeof corePatchesDdl> {
  const driver = createDriver(db);
  try {
    return corePatchesDdl(driver, table);
  } finally {
    driver.release?.();
  }
}
