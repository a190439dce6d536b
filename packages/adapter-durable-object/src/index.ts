/**
 * @replic/adapter-durable-object: replic on a Cloudflare Durable Object's own SQLite storage,
 * and `ReplicHub`, a Durable Object that serves the @replic/transport-ws protocol with the
 * WebSocket hibernation API.
 *
 * ```ts
 * import { openReplica } from "@replic/adapter-durable-object";
 * // inside a Durable Object declared in a new_sqlite_classes migration:
 * const replica = openReplica(ctx.storage, { heartbeatMs: 0 });
 * ```
 *
 * Everything from @replic/core is re-exported, so this is the only import a worker needs.
 */
export * from "@replic/core";
export { createDriver, DO_MAX_PARAMS } from "./driver.js";
export { openReplica, patchesDdl, type DurableObjectReplicaOptions } from "./open.js";
export { DO_STORAGE_LIMITS, type StorageLimits } from "./storage-limits.js";
export type { DurableObjectSqlStorage, SqlStorage, SqlStorageCursor } from "./storage-types.js";
export { ReplicHub, type HubConfig, type HubSocket, type HubState } from "./hub.js";
export { routeToHub, type DurableObjectNamespaceLike } from "./route.js";
