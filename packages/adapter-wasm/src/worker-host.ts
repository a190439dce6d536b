/**
 * The worker side of the page ↔ worker protocol: serves a replica that lives in this worker.
 *
 * ```ts
 * // worker.ts
 * const { db, storage, slot } = await openBrowserDatabase(sqlite3, { name: "todos" });
 * const replica = openOo1Replica(db, sqlite3);
 * exposeReplica(self, replica, { query: oo1Query(db), info: { storage, slot } });
 * ```
 * Built-in methods: upsert, upsertMany, batch (several upserts in one transaction), query,
 * status, metrics, waitFor, tick. `methods` adds an app's own (connect, disconnect, ...).
 * Events sent to the page: merge and stale of the replica, ready once, and whatever `emit` sends.
 */
import { ReplicError } from "@replic/core";
import type { Replica } from "@replic/core";
import type { Oo1BrowserDatabase } from "./browser-database";
import { isCallMessage, serializeError, type MessageEndpoint, type ReadyInfo } from "./worker-protocol";

export type QueryFunction = (sql: string, params: readonly unknown[]) => Record<string, unknown>[];

export interface ExposeOptions {
  /** Runs read queries for `query` (and `watch`); see oo1Query. */
  query: QueryFunction;
  /** Extra facts for the page's `ready` (storage, slot, ...). */
  info?: Omit<ReadyInfo, "peerId">;
  /** The app's own methods, callable with client.call(name, ...args). */
  methods?: Record<string, (...args: never[]) => unknown>;
}

export interface ExposedReplica {
  /** Sends an app event to the page (client.on(name, fn)). */
  emit(event: string, payload: unknown): void;
  /** Stops serving (the replica stays open). */
  close(): void;
}

/** Reads through an oo1 database: rows as objects keyed by column name. */
export function oo1Query(db: Pick<Oo1BrowserDatabase, "selectObjects">): QueryFunction {
  return (sql, params) => db.selectObjects(sql, params.length ? params : undefined);
}

function isSelect(sql: string): boolean {
  // query() is for reads: writes to replicated tables must go through upsert to replicate.
  return /^\s*(SELECT|WITH|EXPLAIN|VALUES)\b/i.test(sql);
}

export function exposeReplica(endpoint: MessageEndpoint, replica: Replica, options: ExposeOptions): ExposedReplica {
  const methods: Record<string, (...args: never[]) => unknown> = {
    upsert: (table: string, row: Record<string, unknown>) => replica.upsert(table, row),
    upsertMany: (table: string, rows: Record<string, unknown>[]) => replica.upsertMany(table, rows),
    batch: (writes: { table: string; row: Record<string, unknown> }[]) =>
      replica.transaction(() => writes.map((w) => replica.upsert(w.table, w.row))),
    query: (sql: string, params: unknown[] = []) => {
      if (typeof sql !== "string" || !isSelect(sql)) {
        throw new ReplicError("INVALID_OPTION", "replic: query() runs reads only (SELECT, WITH, EXPLAIN, VALUES); write with upsert");
      }
      return options.query(sql, params);
    },
    status: () => replica.status(),
    metrics: () => replica.metrics(),
    waitFor: (token: string, timeoutMs?: number) => replica.waitFor(token, timeoutMs),
    tick: () => replica.tick(),
    ...options.methods,
  };
  const post = (message: unknown) => endpoint.postMessage(message);
  const onMessage = (e: { data: unknown }) => {
    const msg = e.data;
    if (!isCallMessage(msg)) return;
    const fn = Object.prototype.hasOwnProperty.call(methods, msg.method) ? methods[msg.method] : undefined;
    if (!fn) {
      post({ id: msg.id, ok: false, error: { name: "ReplicError", code: "INVALID_OPTION", message: `replic: no worker method "${msg.method}"` } });
      return;
    }
    Promise.resolve()
      .then(() => fn(...(msg.args as never[])))
      .then(
        (value) => post({ id: msg.id, ok: true, value }),
        (err: unknown) => post({ id: msg.id, ok: false, error: serializeError(err) }),
      );
  };
  endpoint.addEventListener("message", onMessage);
  const offMerge = replica.on("merge", (payload) => post({ event: "merge", payload }));
  const offStale = replica.on("stale", (err) => post({ event: "stale", payload: serializeError(err) }));
  post({ event: "ready", payload: { ...options.info, peerId: replica.peerId } satisfies ReadyInfo });
  return {
    emit: (event, payload) => post({ event, payload }),
    close() {
      endpoint.removeEventListener("message", onMessage);
      offMerge();
      offStale();
    },
  };
}
