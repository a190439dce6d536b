// The conformance suite's asynchronous world (conformance/src/world.ts) with every database a
// Durable Object inside workerd (test/fixtures/world-db.ts): each call is one request to the
// object, which answers with the call's result or error and the events since the last answer
// (messages sent on links, watch results). Events are handed to the test's callbacks, in order and
// awaited, before the call resolves: a link that delivers into another replica's receive has
// delivered when the writer's call returns, as on the synchronous bindings (after the call
// instead of inside it).
import * as core from "@replic/core";
import { fromTaggedJson, toTaggedJson } from "../../../conformance/src/tagged-json";
import { ITEMS, type Migrations } from "../../../conformance/src/harness";
import type { ReplicaOptionsLike } from "../../../conformance/src/types";
import type { Cell, ColumnSpec } from "../../../conformance/src/util";
import type { Adopted, EachOutcome, LoadStatement, ParkedRow, WatchOptions, World, WorldDb, WorldReplica, WorldWatch } from "../../../conformance/src/world";
import type { SerializedError, WorldEvent } from "./fixtures/world-db";

/** The error the object threw, as an instance of the same class (named by the object's own instanceof checks). */
function rebuild(e: SerializedError): Error {
  const cls = e.classes[0] as keyof typeof core | undefined;
  const builtin = (globalThis as Record<string, unknown>)[e.name];
  const proto = cls
    ? (core[cls] as { prototype: object }).prototype
    : typeof builtin === "function" && builtin.prototype instanceof Error
      ? (builtin as { prototype: object }).prototype
      : Error.prototype;
  const err = Object.create(proto) as Error & { code?: string };
  Object.defineProperty(err, "message", { value: e.message, writable: true, configurable: true });
  Object.defineProperty(err, "name", { value: e.name, writable: true, configurable: true });
  Object.defineProperty(err, "stack", { value: `${e.name}: ${e.message}\n    (in workerd) ${e.stack ?? ""}`, writable: true, configurable: true });
  if (e.code !== undefined) err.code = e.code;
  // The brand isReplicError looks for, set by ReplicError's constructor on each instance.
  if (e.classes.includes("ReplicError")) Object.defineProperty(err, Symbol.for("replic.error"), { value: true });
  return err;
}

interface Answer {
  ok: boolean;
  result?: unknown;
  error?: SerializedError;
  events: WorldEvent[];
}

export function doWorld(base: () => string): World {
  let dbs: Db[] = [];

  class Db implements WorldDb {
    readonly sends = new Map<string, (m: Uint8Array) => unknown>();
    readonly watchers = new Map<number, { onRows: (rows: never[]) => void; onError?: (e: unknown) => void }>();
    readonly replicas = new Set<number>();

    constructor(readonly name: string) {}

    /** Calls without a result (addPeer), sent ahead of the next call to this object: one request fewer each. */
    private deferred: Record<string, unknown>[] = [];

    defer(op: string, args: Record<string, unknown>): void {
      this.deferred.push({ op, ...args });
    }

    async call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
      const before = this.deferred.splice(0);
      const res = await fetch(`${base()}/world/${this.name}`, { method: "POST", body: toTaggedJson({ op, ...args, before }) });
      const text = await res.text();
      if (!res.ok) throw new Error(`world call ${op}: HTTP ${res.status}: ${text}`);
      const a = fromTaggedJson(text) as Answer;
      await this.deliver(a.events);
      if (!a.ok) throw rebuild(a.error!);
      return a.result as T;
    }

    private async deliver(events: WorldEvent[]): Promise<void> {
      for (const e of events) {
        if (e.kind === "sent") await this.sends.get(`${e.replica}/${e.to}`)?.(e.bytes);
        else if (e.kind === "rows") this.watchers.get(e.watch)?.onRows(e.rows as never[]);
        else this.watchers.get(e.watch)?.onError?.(rebuild(e.error));
      }
    }

    all = (sql: string) => this.call<Record<string, unknown>[]>("all", { sql });
    exec = (sql: string) => this.call<void>("exec", { sql });
    patchesDdl = (table: string) => this.call<string>("patchesDdl", { table });
    columns = (table: string) => this.call<ColumnSpec[]>("columns", { table });
    typedRows = (table: string) => this.call<Cell[][]>("typedRows", { table });
    dumpTable = (table: string) => this.call<string>("dumpTable", { table });
    dumpDatabase = () => this.call<Record<string, string>>("dumpDatabase");
    load = (statements: LoadStatement[]) => this.call<void>("load", { statements });
  }

  const handles = new WeakMap<WorldReplica, { db: Db; id: number; now?: () => number }>();

  /** Opens a replica on `db`, and migrates it in the same request when given `migrations`. */
  async function replica(db: Db, options: ReplicaOptionsLike = {}, migrations?: Migrations): Promise<WorldReplica> {
    const { now: nowFn, ...rest } = options;
    const at = () => (nowFn ? { now: nowFn() } : {});
    const { id, peerId } = await db.call<{ id: number; peerId: number }>("open", { options: rest, migrations, ...at() });
    db.replicas.add(id);
    const call = <T>(op: string, args: Record<string, unknown> = {}) => db.call<T>(op, { replica: id, ...at(), ...args });
    const r: WorldReplica = {
      peerId,
      migrate: (migrations) => call("migrate", { migrations }),
      upsert: (table, row) => call("upsert", { table, row }),
      upsertMany: (table, rows) => call("upsertMany", { table, rows }),
      transaction: (writes, failWith) => call("transaction", { writes, failWith }),
      upsertEach: (writes) => call<EachOutcome[]>("upsertEach", { writes }),
      adopt: (table, options) => call<Adopted>("adopt", { table, options }),
      parked: (table) => call<ParkedRow[]>("parked", { table }),
      async addPeer(peer, send) {
        db.sends.set(`${id}/${peer}`, send);
        db.defer("addPeer", { replica: id, peer });
      },
      async removePeer(peer) {
        await call("removePeer", { peer });
        db.sends.delete(`${id}/${peer}`);
      },
      receive: (from, message) => call("receive", { from, message }),
      tick: () => call("tick"),
      flush: () => call("flush"),
      waitFor: (token, timeoutMs) => call("waitFor", { token, timeoutMs }),
      status: () => call("status"),
      metrics: () => call("metrics"),
      gc: () => call("gc"),
      async close() {
        await call("close");
        db.replicas.delete(id);
      },
      sameTurn: (calls) => call("sameTurn", { calls }),
    };
    handles.set(r, { db, id, now: nowFn });
    return r;
  }

  // The codec runs in the worker, not in an object: its own endpoint.
  async function codec<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${base()}/world-codec`, { method: "POST", body: toTaggedJson({ op, ...args }) });
    const a = fromTaggedJson(await res.text()) as Answer;
    if (!a.ok) throw rebuild(a.error!);
    return a.result as T;
  }
  let watches = 0;

  const world: World = {
    name: "durable-object",
    adapter: core,
    codec: {
      encodeWire: (message, version) => codec("encodeWire", { message, version }),
      decodeWire: (bytes) => codec("decodeWire", { bytes }),
      decodeMessage: (bytes) => codec("decodeMessage", { bytes }),
      encodeMessage: (message) => codec("encodeMessage", { message }),
      reexports: (names) => codec("reexports", { names }),
      validationIsReplicError: () => codec("validationIsReplicError"),
    },
    async db() {
      const db = new Db(crypto.randomUUID());
      dbs.push(db);
      return db;
    },
    replica: (db, options) => replica(db as Db, options),
    async open(migrations = ITEMS, options = {}) {
      const db = (await world.db()) as Db;
      return { db, r: await replica(db, options, migrations) };
    },
    watch: (async <R>(r: WorldReplica, sql: string, a: readonly unknown[] | ((rows: R[]) => void), onRows?: (rows: R[]) => void, options?: WatchOptions): Promise<WorldWatch> => {
      const h = handles.get(r);
      if (!h) throw new Error("conformance: a replica of another world");
      const fn = (typeof a === "function" ? a : onRows!) as (rows: never[]) => void;
      // The id is chosen here and the callbacks registered before the call: its answer may
      // already hold the first run.
      const id = ++watches;
      h.db.watchers.set(id, { onRows: fn, onError: options?.onError });
      const args = typeof a === "function" ? { sql } : { sql, params: a, tables: options?.tables, onError: options?.onError !== undefined };
      await h.db.call("watch", { replica: h.id, watch: id, ...args });
      const tables = h.db.call<readonly string[] | null>("watchTables", { watch: id });
      tables.catch(() => undefined);
      return { close: () => h.db.call<void>("watchClose", { watch: id }), tables };
    }) as World["watch"],
    async receiveDumped(o, from, message) {
      const h = handles.get(o.r);
      if (!h) throw new Error("conformance: a replica of another world");
      const x = await h.db.call<{ error?: SerializedError; before: Record<string, string>; after: Record<string, string> }>("receiveDumped", { replica: h.id, from, message, ...(h.now ? { now: h.now() } : {}) });
      return { error: x.error === undefined ? undefined : rebuild(x.error), before: x.before, after: x.after };
    },
    async settle() {
      for (const db of dbs) await db.call("settle");
    },
    assignNewPeerId: (db) => (db as Db).call<number>("assignNewPeerId"),
    async closeAll() {
      const closing = dbs;
      dbs = [];
      // Ends each object: the next test's databases are new ones, and idle objects leave memory.
      await Promise.all(closing.map((db) => db.call("evict").catch(() => undefined)));
    },
  };
  return world;
}

