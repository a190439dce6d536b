/**
 * The asynchronous world the single-database blocks are written against (basic, golden vectors,
 * patchesDdl, migrations, watch): databases and replicas reached through promises, so one
 * definition of a block runs both on the synchronous bindings (`syncWorld`: every call runs at
 * once, as before, and a link's `send` still delivers inside the writer's call) and on replicas
 * that live elsewhere, e.g. each in its own Durable Object inside workerd, where a call is a
 * request and what a replica sends, merges and watches comes back with the answer.
 */
import * as core from "@replic/core";
import { fail } from "./fail.js";
import { Harness, ITEMS, type Migrations } from "./harness.js";
import type { AdapterModule, ConformanceBinding, DriverLike, ReplicaLike, ReplicaOptionsLike, SqlValue } from "./types.js";
import { columnsOf, dumpDatabase, dumpTable, typedRows, type Cell, type ColumnSpec } from "./util.js";

/** The adapter's pure parts the blocks use on the test's side (crafting and reading messages, error classes). */
export type WorldAdapter = Pick<
  AdapterModule<unknown>,
  "encodeMessage" | "decodeMessage" | "encodeWire" | "decodeWire" | "crc32" | "ReplicError" | "SchemaError" | "ValidationError" | "DecodeError" | "TimeoutError"
>;

/** The codec as it runs in the world's runtime. */
export interface WorldCodec {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  encodeWire(message: any, version?: number): Promise<Uint8Array>;
  decodeWire(bytes: Uint8Array): Promise<unknown>;
  decodeMessage(bytes: Uint8Array): Promise<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  encodeMessage(message: any): Promise<Uint8Array>;
  /** For each name: whether the adapter exports it and whether it is @replic/core's own. */
  reexports(names: string[]): Promise<{ name: string; defined: boolean; same: boolean }[]>;
  /** `new ValidationError(...) instanceof ReplicError`, with the adapter's classes. */
  validationIsReplicError(): Promise<boolean>;
}

export interface WorldDb {
  /** Rows as plain objects, as the binding's own API reads them (not through replic). */
  all(sql: string): Promise<Record<string, unknown>[]>;
  /** Runs SQL (several statements allowed) through the binding's own API. */
  exec(sql: string): Promise<void>;
  patchesDdl(table: string): Promise<string>;
  columns(table: string): Promise<ColumnSpec[]>;
  typedRows(table: string): Promise<Cell[][]>;
  dumpTable(table: string): Promise<string>;
  dumpDatabase(): Promise<Record<string, string>>;
  /** Runs the statements in one transaction through the adapter's driver, as an application writes its own rows. */
  load(statements: LoadStatement[]): Promise<void>;
}

/** A statement of `WorldDb.load`, with its positional parameters. */
export interface LoadStatement {
  sql: string;
  params: SqlValue[];
}

/**
 * Runs `WorldDb.load` on a driver: in its `transaction(fn)` where it has one (a Durable Object's
 * storage refuses BEGIN), else between BEGIN and COMMIT.
 */
export function loadRows(driver: DriverLike, statements: readonly LoadStatement[]): void {
  const run = () => {
    for (const s of statements) driver.prepare(s.sql).run(s.params);
  };
  if (driver.transaction) return driver.transaction(run);
  driver.exec("BEGIN");
  try {
    run();
  } catch (e) {
    driver.exec("ROLLBACK");
    throw e;
  }
  driver.exec("COMMIT");
}

export interface TxWrite {
  table: string;
  row: Record<string, unknown>;
}

/** What `adopt` resolved to: its count, and the `adopted` of each progress report in order. */
export interface Adopted {
  adopted: number;
  progress: number[];
}

/** Runs `WorldReplica.adopt` on a synchronous replica. */
export function runAdopt(r: ReplicaLike, table: string, options: { batchSize?: number } = {}): Adopted {
  const progress: number[] = [];
  const adopted = r.adopt(table, { ...options, onProgress: (p) => progress.push(p.adopted) });
  return { adopted, progress };
}

/** A write's outcome in `upsertEach`: its token, or the code (else the message) of what it threw. */
export type EachOutcome = { token: string } | { refused: string };

/** Runs `WorldReplica.upsertEach` on a synchronous replica. */
export function runUpsertEach(r: ReplicaLike, writes: readonly TxWrite[]): EachOutcome[] {
  return r.transaction(() =>
    writes.map((w): EachOutcome => {
      try {
        return { token: r.upsert(w.table, w.row) };
      } catch (e) {
        const x = e as { code?: unknown; message?: unknown };
        return { refused: typeof x?.code === "string" ? x.code : String(x?.message ?? e) };
      }
    }),
  );
}

/** A row `parked()` reports. */
export interface ParkedRow {
  table: string;
  key: Record<string, unknown>;
  reason: string;
  detail: string | null;
}

/** A call of `sameTurn`. */
export type TurnCall =
  | { op: "upsert"; table: string; row: Record<string, unknown> }
  | { op: "receive"; from: number; message: Uint8Array }
  | { op: "close" };

export interface WorldReplica {
  readonly peerId: number;
  migrate(migrations: Migrations): Promise<void>;
  upsert(table: string, row: Record<string, unknown>): Promise<string>;
  upsertMany(table: string, rows: Record<string, unknown>[]): Promise<string[]>;
  /**
   * `transaction(fn)` where fn upserts `writes` in order and returns their tokens, then throws
   * `new Error(failWith)` when given. Resolves to what the replica's transaction returned.
   */
  transaction(writes: TxWrite[], failWith?: string): Promise<string[]>;
  /** `transaction(fn)` where fn upserts each write and catches what it throws: one outcome per write. */
  upsertEach(writes: TxWrite[]): Promise<EachOutcome[]>;
  /** `adopt(table, { batchSize, onProgress })`. */
  adopt(table: string, options?: { batchSize?: number }): Promise<Adopted>;
  parked(table?: string): Promise<ParkedRow[]>;
  /** `send` is called with every message on that link, in order (awaited when it returns a promise). */
  addPeer(peerId: number, send: (message: Uint8Array) => unknown): Promise<void>;
  removePeer(peerId: number): Promise<void>;
  receive(fromPeerId: number, message: Uint8Array): Promise<void>;
  tick(): Promise<void>;
  flush(): Promise<string | null>;
  waitFor(token: string, timeoutMs?: number): Promise<void>;
  status(): Promise<unknown>;
  metrics(): Promise<string>;
  /** `gc()`: resolves to what it returned. */
  gc(): Promise<number>;
  close(): Promise<void>;
  /**
   * Runs the calls one after the other in one turn of the replica's runtime: nothing scheduled
   * by one (a watch's re-run) runs before the last has returned. Resolves to their results.
   */
  sameTurn(calls: TurnCall[]): Promise<unknown[]>;
}

/** Runs a `sameTurn` call on a synchronous replica. */
export function runTurnCall(r: ReplicaLike, c: TurnCall): unknown {
  if (c.op === "upsert") return r.upsert(c.table, c.row);
  if (c.op === "receive") return r.receive(c.from, c.message);
  return r.close();
}

export interface WorldOpened {
  db: WorldDb;
  r: WorldReplica;
}

export interface WorldWatch {
  close(): Promise<void>;
  readonly tables: Promise<readonly string[] | null>;
}

export interface WatchOptions {
  tables?: readonly string[];
  onError?: (err: unknown) => void;
}

export interface World {
  /** The binding's name, e.g. "better-sqlite3" or "durable-object". */
  name: string;
  adapter: WorldAdapter;
  codec: WorldCodec;
  /** A fresh, empty database. */
  db(): Promise<WorldDb>;
  /** Opens a replica on `db` (heartbeatMs 0 unless given). */
  replica(db: WorldDb, options?: ReplicaOptionsLike): Promise<WorldReplica>;
  /** A fresh database with a replica on it, migrated. */
  open(migrations?: Migrations, options?: ReplicaOptionsLike): Promise<WorldOpened>;
  watch<R = Record<string, unknown>>(r: WorldReplica, sql: string, params: readonly unknown[], onRows: (rows: R[]) => void, options?: WatchOptions): Promise<WorldWatch>;
  watch<R = Record<string, unknown>>(r: WorldReplica, sql: string, onRows: (rows: R[]) => void): Promise<WorldWatch>;
  /**
   * `o.db.dumpDatabase()`, `o.r.receive(from, message)`, `o.db.dumpDatabase()` in one go (one
   * request where calls are requests): the error receive threw (undefined when it returned) and
   * the dumps around it.
   */
  receiveDumped(o: WorldOpened, from: number, message: Uint8Array): Promise<{ error: unknown; before: Record<string, string>; after: Record<string, string> }>;
  /** Lets the re-runs scheduled by the last calls (microtasks, one timer turn) happen and be heard. */
  settle(): Promise<void>;
  /** Closes every replica and database opened since the last call. */
  closeAll(): Promise<void>;
  /** `assignNewPeerId(createDriver(db))` on the world's database: resolves to the new peer id. */
  assignNewPeerId(db: WorldDb): Promise<number>;
  /**
   * The heap the world's replicas live in, in bytes, where it can be read from the test's side
   * (the synchronous bindings: this process). Absent where it cannot (another runtime).
   */
  heapUsed?: () => Promise<number>;
}

/** Runs `f` now: its value resolved, its throw thrown at once (inside the caller's call, as before). */
function now<T>(f: () => T): Promise<T> {
  return Promise.resolve(f());
}

const NATIVE = Symbol("native database");
type SyncDb<Db> = WorldDb & { [NATIVE]: Db };

/** The world of a synchronous binding: every call runs at once on the binding's databases. */
export function syncWorld<Db>(b: ConformanceBinding<Db>): World {
  const h = new Harness(b);
  const dbOf = (db: Db): SyncDb<Db> => ({
    [NATIVE]: db,
    all: (sql) => now(() => b.all(db, sql)),
    exec: (sql) => now(() => b.exec(db, sql)),
    patchesDdl: (table) => now(() => b.adapter.patchesDdl(db, table)),
    columns: (table) => now(() => columnsOf(b, db, table)),
    typedRows: (table) => now(() => typedRows(b, db, table)),
    dumpTable: (table) => now(() => dumpTable(b, db, table)),
    dumpDatabase: () => now(() => dumpDatabase(b, db)),
    load: (statements) => now(() => loadRows(b.adapter.createDriver(db), statements)),
  });
  const replicaOf = (r: ReplicaLike): WorldReplica => ({
    get peerId() {
      return r.peerId;
    },
    migrate: (m) => now(() => r.migrate(m)),
    upsert: (t, row) => now(() => r.upsert(t, row)),
    upsertMany: (t, rows) => now(() => r.upsertMany(t, rows)),
    transaction: (writes, failWith) =>
      now(() =>
        r.transaction(() => {
          const tokens = writes.map((w) => r.upsert(w.table, w.row));
          if (failWith !== undefined) throw new Error(failWith);
          return tokens;
        }),
      ),
    upsertEach: (writes) => now(() => runUpsertEach(r, writes)),
    adopt: (t, options) => now(() => runAdopt(r, t, options)),
    parked: (t) => now(() => r.parked(t)),
    addPeer: (id, send) => now(() => r.addPeer(id, (m) => void send(m))),
    removePeer: (id) => now(() => r.removePeer(id)),
    receive: (from, m) => now(() => r.receive(from, m)),
    tick: () => now(() => r.tick()),
    flush: () => now(() => r.flush()),
    waitFor: (token, ms) => r.waitFor(token, ms),
    status: () => now(() => r.status()),
    metrics: () => now(() => r.metrics()),
    gc: () => now(() => r.gc()),
    close: () => now(() => r.close()),
    sameTurn: (calls) => now(() => calls.map((c) => runTurnCall(r, c))),
  });
  const native = (db: WorldDb): Db => {
    const n = (db as Partial<SyncDb<Db>>)[NATIVE];
    if (n === undefined) throw new Error("conformance: a database of another world");
    return n;
  };
  const replicas = new Map<WorldReplica, ReplicaLike>();
  const world: World = {
    name: b.name,
    adapter: b.adapter,
    codec: {
      encodeWire: (m, v) => now(() => b.adapter.encodeWire(m, v)),
      decodeWire: (bytes) => now(() => b.adapter.decodeWire(bytes)),
      decodeMessage: (bytes) => now(() => b.adapter.decodeMessage(bytes)),
      encodeMessage: (m) => now(() => b.adapter.encodeMessage(m)),
      reexports: (names) =>
        now(() => {
          const a = b.adapter as unknown as Record<string, unknown>;
          return names.map((name) => ({ name, defined: a[name] !== undefined, same: a[name] === (core as Record<string, unknown>)[name] }));
        }),
      validationIsReplicError: () => now(() => new b.adapter.ValidationError("TYPE_MISMATCH", "x") instanceof b.adapter.ReplicError),
    },
    db: () => now(() => dbOf(h.db())),
    replica: (db, options) =>
      now(() => {
        const r = h.replica(native(db), options);
        const w = replicaOf(r);
        replicas.set(w, r);
        return w;
      }),
    open: (migrations = ITEMS, options = {}) =>
      now(() => {
        const o = h.open(migrations, options);
        const r = replicaOf(o.r);
        replicas.set(r, o.r);
        return { db: dbOf(o.db), r };
      }),
    watch: (<R>(r: WorldReplica, sql: string, a: readonly unknown[] | ((rows: R[]) => void), onRows?: (rows: R[]) => void, options?: WatchOptions) =>
      now(() => {
        const rep = replicas.get(r);
        if (!rep) throw new Error("conformance: a replica of another world");
        const w = typeof a === "function" ? b.adapter.watch<R>(rep, sql, a) : b.adapter.watch<R>(rep, sql, a, onRows!, options);
        const tables = "tables" in w ? (w.tables as Promise<readonly string[] | null>) : Promise.resolve(null);
        return { close: () => now(() => w.close()), tables };
      })) as World["watch"],
    receiveDumped: (o, from, message) =>
      now(() => {
        const db = native(o.db);
        const rep = replicas.get(o.r);
        if (!rep) throw new Error("conformance: a replica of another world");
        const before = dumpDatabase(b, db);
        let error: unknown;
        try {
          rep.receive(from, message);
        } catch (e) {
          error = e;
        }
        return { error, before, after: dumpDatabase(b, db) };
      }),
    settle: () => new Promise((r) => setTimeout(r, 0)),
    closeAll: () =>
      now(() => {
        replicas.clear();
        h.closeAll();
      }),
    assignNewPeerId: (db) =>
      now(() => {
        const a = b.adapter as unknown as { createDriver(db: Db): unknown; assignNewPeerId(d: unknown): number };
        return a.assignNewPeerId(a.createDriver(native(db)));
      }),
    heapUsed: typeof process === "undefined" || typeof process.memoryUsage !== "function" ? undefined : () => now(() => process.memoryUsage().heapUsed),
  };
  return world;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}\n${e.stack ?? ""}`;
  return String(e);
}

/** The error `fn` throws or rejects with; fails when it does neither. */
export async function thrownBy(fn: () => Promise<unknown>, what: string): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return fail(`${what}: expected an error, but nothing was thrown`);
}

/**
 * `fn` must throw (or reject with) an instance of one of `classes` that is also a ReplicError with
 * a non-empty string `code`. Returns the error. The asynchronous form of harness.ts's `expectTyped`.
 */
export async function expectTypedAsync(
  w: World,
  fn: () => Promise<unknown>,
  classes: ("SchemaError" | "ValidationError" | "DecodeError" | "TimeoutError")[],
  what: string,
): Promise<Error & { code: string }> {
  let thrown: unknown;
  let threw = false;
  try {
    await fn();
  } catch (e) {
    thrown = e;
    threw = true;
  }
  if (!threw) fail(`${what}: expected ${classes.join(" or ")}, but nothing was thrown`);
  const ok = classes.some((c) => thrown instanceof w.adapter[c]);
  if (!ok || !(thrown instanceof w.adapter.ReplicError)) {
    fail(`${what}: expected ${classes.join(" or ")} (a ReplicError), got ${describeError(thrown)}`);
  }
  const code = (thrown as { code?: unknown }).code;
  if (typeof code !== "string" || code.length === 0) {
    fail(`${what}: ${String((thrown as Error).name)} has no string code (got ${String(code)})`);
  }
  return thrown as Error & { code: string };
}

/** Messages `r` sends on the link to `peerId`, collected as they are sent. */
export async function captureAsync(r: WorldReplica, peerId: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  await r.addPeer(peerId, (m) => {
    out.push(new Uint8Array(m));
  });
  return out;
}
