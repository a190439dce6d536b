/**
 * @replic/adapter-wasm/browser: replic in browsers, workers and edge runtimes, on the official
 * SQLite WASM build (@sqlite.org/sqlite-wasm ≥ 3.50, oo1 API). No Node module and no
 * node-sqlite3-wasm in here, so bundlers take only what a browser runs.
 *
 * In the worker: `openBrowserDatabase` (OPFS via opfs-sahpool, else memory), `openOo1Replica`,
 * `exposeReplica`. On the page: `connectReplicaWorker`, and `watch` (from @replic/core, like
 * everything of the core, re-exported here).
 */
export * from "@replic/core";
export { createOo1Driver } from "./oo1";
export type { Oo1Database, Oo1Stmt, Sqlite3Static } from "./oo1";
export { openOo1Replica } from "./open-oo1";
export { openBrowserDatabase } from "./browser-database";
export type { BrowserDatabase, BrowserDatabaseOptions, Oo1BrowserDatabase, Sqlite3Browser, SahPoolUtilLike } from "./browser-database";
export { holdWebLock, webLocks, type LockManagerLike } from "./web-lock";
export { exposeReplica, oo1Query, type ExposeOptions, type ExposedReplica, type QueryFunction } from "./worker-host";
export { connectReplicaWorker, ReplicaWorkerClient } from "./worker-client";
export { reportFatal, serializeError } from "./worker-protocol";
export type { MessageEndpoint, ReadyInfo, SerializedError } from "./worker-protocol";
