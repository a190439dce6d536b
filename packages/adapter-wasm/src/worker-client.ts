/**
 * The page side of the page ↔ worker protocol: a replica living in a dedicated worker, used with
 * promises. Also a `WatchSource`, so `watch(client, sql, params, onRows)` works on it.
 *
 * ```ts
 * const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
 * const replica = connectReplicaWorker(worker);
 * await replica.ready;                       // { peerId, storage, slot, ... }
 * await replica.upsert("todos", { id, title });
 * watch(replica, "SELECT * FROM todos WHERE deletedAt IS NULL", [], render);
 * ```
 */
import { ReplicError, type ReplicaStatus, type ReplicErrorCode, type Row, type WatchSource } from "@replic/core";
import { isEventMessage, isReplyMessage, type MessageEndpoint, type ReadyInfo, type SerializedError } from "./worker-protocol";

function deserializeError(e: SerializedError): Error {
  if (e.code) {
    const err = new ReplicError(e.code as ReplicErrorCode, e.message);
    err.name = e.name;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class ReplicaWorkerClient implements WatchSource {
  /** Resolves once the worker serves calls (its replica is open). */
  readonly ready: Promise<ReadyInfo>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Set<(payload: never) => void>>();
  private readonly onMessage: (e: { data: unknown }) => void;
  private closed = false;
  private failure: Error | undefined;

  constructor(private readonly endpoint: MessageEndpoint) {
    let setReady!: (info: ReadyInfo) => void;
    let failReady!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      setReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => {}); // reported to whoever awaits it; never an unhandled rejection
    this.onMessage = (e) => {
      const msg = e.data;
      if (isReplyMessage(msg)) {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(deserializeError(msg.error));
      } else if (isEventMessage(msg)) {
        if (msg.event === "ready") setReady(msg.payload as ReadyInfo);
        if (msg.event === "fatal") {
          // The worker could not start (or died): nothing will answer any more.
          const err = deserializeError(msg.payload as SerializedError);
          this.failure = err;
          failReady(err);
          for (const p of this.pending.values()) p.reject(err);
          this.pending.clear();
        }
        for (const fn of this.listeners.get(msg.event) ?? []) {
          try {
            fn(msg.payload as never);
          } catch (err) {
            console.error(`replic: a "${msg.event}" listener threw`, err);
          }
        }
      }
    };
    endpoint.addEventListener("message", this.onMessage);
  }

  /** Calls a worker method (built-in or the app's own). Waits for `ready` first. */
  async call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    await this.ready;
    if (this.closed) throw new ReplicError("CLOSED", "replic: this worker client is closed");
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.endpoint.postMessage({ id, method, args });
    });
  }

  upsert(table: string, row: Record<string, unknown>): Promise<string> {
    return this.call("upsert", table, row);
  }
  upsertMany(table: string, rows: Record<string, unknown>[]): Promise<string[]> {
    return this.call("upsertMany", table, rows);
  }
  /** Several upserts in one transaction (one batch on the wire). */
  batch(writes: { table: string; row: Record<string, unknown> }[]): Promise<string[]> {
    return this.call("batch", writes);
  }
  query<R = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.call("query", sql, params);
  }
  status(): Promise<ReplicaStatus> {
    return this.call("status");
  }
  metrics(): Promise<string> {
    return this.call("metrics");
  }
  waitFor(token: string, timeoutMs?: number): Promise<void> {
    return this.call("waitFor", token, timeoutMs);
  }
  tick(): Promise<void> {
    return this.call("tick");
  }

  /** merge, stale, ready, fatal, or an event the worker emits; returns an unsubscribe function. */
  on(event: "merge", listener: (e: { local: boolean; patches: number; tables?: string[] }) => void): () => void;
  on(event: "stale", listener: (e: SerializedError) => void): () => void;
  on(event: string, listener: (payload: never) => void): () => void;
  on(event: string, listener: (payload: never) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set!.delete(listener);
  }

  /** Stops listening; pending calls reject. Terminating the worker is the caller's choice. */
  close(): void {
    this.closed = true;
    this.endpoint.removeEventListener("message", this.onMessage);
    for (const p of this.pending.values()) p.reject(new ReplicError("CLOSED", "replic: worker client closed"));
    this.pending.clear();
  }
}

export function connectReplicaWorker(endpoint: MessageEndpoint): ReplicaWorkerClient {
  return new ReplicaWorkerClient(endpoint);
}
