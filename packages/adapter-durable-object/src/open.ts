/** `openReplica` and `patchesDdl` on a Durable Object's storage. */
import { createReplica, patchesDdl as corePatchesDdl } from "@replic/core";
import type { AnyTables, KeyColumns, Replica, ReplicaOptions } from "@replic/core";
import { createDriver } from "./driver.js";
import type { StorageLimits } from "./storage-limits.js";
import type { DurableObjectSqlStorage } from "./storage-types.js";

/** The core's options, and the storage limits the driver refuses writes beyond. */
export interface DurableObjectReplicaOptions extends ReplicaOptions {
  /** Default: the platform's documented limits (2 MB values and rows, 100 KB statements, 10 GB). */
  storageLimits?: StorageLimits;
}

/**
 * Opens a replica on a Durable Object's storage (`ctx.storage`). Synchronous. Pass
 * `heartbeatMs: 0` and drive `tick()` from the object's alarm: a timer does not survive the
 * object's eviction, an alarm does. `openReplica<DB>(storage)` types the rows (docs/typed-rows.md).
 */
export function openReplica<DB extends object = AnyTables, Keys extends KeyColumns<DB> = {}>(
  storage: DurableObjectSqlStorage,
  options: DurableObjectReplicaOptions = {},
): Replica<DB, Keys> {
  const { storageLimits, ...core } = options;
  return createReplica<DB, Keys>(createDriver(storage, storageLimits), core);
}

/** The `T_patches` DDL (and recommended indexes) for table `table` of the object's database. */
export function patchesDdl(storage: DurableObjectSqlStorage, table: string): ReturnType<typeof corePatchesDdl> {
  return corePatchesDdl(createDriver(storage), table);
}
