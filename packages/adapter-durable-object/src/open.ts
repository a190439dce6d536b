/** `openReplica` and `patchesDdl` on a Durable Object's storage. */
import { createReplica, patchesDdl as corePatchesDdl } from "@replic/core";
import type { AnyTables, KeyColumns, Replica, ReplicaOptions } from "@replic/core";
import { createDriver } from "./driver.js";
import type { DurableObjectSqlStorage } from "./storage-types.js";

/**
 * Opens a replica on a Durable Object's storage (`ctx.storage`). Synchronous. Pass
 * `heartbeatMs: 0` and drive `tick()` from the object's alarm: a timer does not survive the
 * object's eviction, an alarm does. `openReplica<DB>(storage)` types the rows (docs/typed-rows.md).
 */
export function openReplica<DB extends object = AnyTables, Keys extends KeyColumns<DB> = {}>(storage: DurableObjectSqlStorage, options: ReplicaOptions = {}): Replica<DB, Keys> {
  return createReplica<DB, Keys>(createDriver(storage), options);
}

/** The `T_patches` DDL (and recommended indexes) for table `table` of the object's database. */
export function patchesDdl(storage: DurableObjectSqlStorage, table: string): ReturnType<typeof corePatchesDdl> {
  return corePatchesDdl(createDriver(storage), table);
}
