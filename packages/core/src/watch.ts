/**
 * Reactive reads: `watch(source, sql, params, onRows)` runs a query now and again after every
 * merge (local write or received patches) that touched one of the tables it reads, and calls
 * `onRows` only when the result differs from the last one delivered. Framework-free: `onRows` can
 * set React state, a Svelte store, a signal or plain DOM. The same code on every runtime.
 *
 * The source is a replica (from openReplica / createReplica: the query runs on its own
 * connection) or anything with merge events and a query function (the browser's worker client).
 *
 * Which tables a query reads is asked of SQLite, not parsed from the text: `EXPLAIN <sql>` lists
 * the b-trees the statement opens (OpenRead, root page), and `sqlite_schema` maps root pages to
 * tables, so joins, views, subqueries and CTEs are covered. When that is not possible (virtual
 * tables, attached databases, an engine without EXPLAIN), the query re-runs on every merge. The
 * `tables` option names them instead. A query reading `T_patches` counts as reading `T`.
 *
 * The query is SQL text with its parameters, or a compiled query or query builder of Kysely or
 * Drizzle (./watch-query.ts), which carries its own parameters.
 *
 * Merge events name their tables; an event without `tables` (a custom source) re-runs every
 * watched query. Events that fire together (one receive, a burst of upserts) cause one re-run:
 * runs are scheduled on a microtask and never overlap.
 */
import type { SqliteDriver, SqlValue } from "./driver.js";
import { ReplicError } from "./errors.js";
import { PATCHES_SUFFIX } from "./schema.js";
import { compiledQuery, type CompiledWatchQuery, type KyselyBuilderLike, type RowOf } from "./watch-query.js";

export type Row = Record<string, unknown>;

/** Anything with merge events and a way to run a read-only query: a worker client, or a replica plus its db. */
export interface WatchSource {
  /** Merge events; an event object with `tables: string[]` narrows which queries re-run. */
  on(event: "merge", listener: (e: unknown) => void): () => void;
  query(sql: string, params: readonly unknown[]): Row[] | Promise<Row[]>;
}

/** A replica as watch() sees it: its merge events (its connection comes from createReplica). */
export type WatchableReplica = Pick<WatchSource, "on">;

export interface WatchOptions {
  /** The tables the query depends on; skips the EXPLAIN lookup. */
  tables?: readonly string[];
  /** Called when a run fails (default: console.error). Watching goes on. */
  onError?: (err: unknown) => void;
}

export interface Watch {
  /** Stops watching: no more runs, no more calls to onRows. */
  close(): void;
  /** Runs the query again now (e.g. after a write outside replic). Resolves after onRows (if changed). */
  refresh(): Promise<void>;
  /** The tables this watch depends on (lower case), or null when it re-runs on every merge. */
  readonly tables: Promise<readonly string[] | null>;
}

/** Where createReplica leaves the replica's connection for watch(); shared by every copy of the package. */
const READER = Symbol.for("replic.watch.reader");

/** A replica's connection as its watches use it: `released` once the replica closed. */
export interface Reader {
  readonly driver: SqliteDriver;
  readonly released: boolean;
}

/**
 * The driver a replica is opened on, noting when the replica releases it (at close, its only
 * release), so that its watches stop instead of using finalized statements. Everything else —
 * `exec`, `prepare`, and whatever a driver adds (optional members included) — reads through to
 * the driver itself, called on it; statements are the driver's own.
 */
export function watchableDriver(driver: SqliteDriver): { driver: SqliteDriver; reader: Reader } {
  const reader = { driver, released: false };
  const release = () => {
    reader.released = true;
    driver.release?.();
  };
  const bound = new Map<PropertyKey, unknown>(); // one bound copy per method, not one per call
  const wrapped = new Proxy(driver, {
    get(target, prop) {
      if (prop === "release") return release;
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      let fn = bound.get(prop);
      if (fn === undefined) bound.set(prop, (fn = (value as (...a: unknown[]) => unknown).bind(target)));
      return fn;
    },
  });
  return { driver: wrapped, reader };
}

/** Called by createReplica: watch(replica, ...) queries the replica's own connection. */
export function attachReader(replica: object, reader: Reader): void {
  Object.defineProperty(replica, READER, { value: reader });
}

/**
 * The query function of a replica's connection: rows as objects keyed by column name. One
 * statement per SQL text for the watch's life (a binding keeps what it prepares until the replica
 * closes), prepared again only after a failure (a table created later, a changed schema).
 */
function driverQuery(driver: SqliteDriver): WatchSource["query"] {
  const statements = new Map<string, ReturnType<SqliteDriver["prepare"]>>();
  return (sql, params) => {
    let stmt = statements.get(sql);
    if (!stmt) statements.set(sql, (stmt = driver.prepare(sql)));
    try {
      if (!stmt.columns) throw new ReplicError("INVALID_OPTION", `the ${driver.name} driver does not report column names, which watch() needs`);
      const rows = stmt.all(params as readonly SqlValue[]);
      const names = stmt.columns(); // after the run: SQLite may have re-prepared it for a changed schema
      return rows.map((cells) => {
        const row: Row = {};
        for (let i = 0; i < names.length; i++) row[names[i]!] = cells[i];
        return row;
      });
    } catch (err) {
      statements.delete(sql);
      throw err;
    }
  };
}

/** The tables `sql` reads, lower case, or null when SQLite cannot tell. */
export async function tablesRead(source: Pick<WatchSource, "query">, sql: string, params: readonly unknown[]): Promise<string[] | null> {
  let plan: Row[];
  try {
    plan = await source.query(`EXPLAIN ${sql}`, params);
  } catch {
    return null;
  }
  const roots = new Set<number>();
  for (const op of plan) {
    const opcode = String(op.opcode);
    if (opcode === "VOpen") return null; // a virtual table: no b-tree to name
    if (opcode === "OpenRead" || opcode === "ReopenIdx") {
      if (Number(op.p3) !== 0) return null; // temp or attached database
      roots.add(Number(op.p2));
    }
  }
  if (roots.size === 0) return [];
  const list = [...roots];
  const rows = await source.query(
    `SELECT rootpage, tbl_name FROM sqlite_schema WHERE rootpage IN (${list.map(() => "?").join(",")})`,
    list,
  );
  const found = new Map(rows.map((r) => [Number(r.rootpage), String(r.tbl_name).toLowerCase()]));
  if (list.some((p) => !found.has(p))) return null;
  return [...new Set(found.values())].sort();
}

/** Deep equality of query results: numbers, bigints, strings, null and bytes per column. */
export function sameRows(a: readonly Row[], b: readonly Row[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const k of keys) {
      const u = x[k];
      const v = y[k];
      if (u instanceof Uint8Array && v instanceof Uint8Array) {
        if (u.length !== v.length || u.some((byte, j) => byte !== v[j])) return false;
      } else if (!Object.is(u, v) && !(u === 0 && v === 0)) {
        return false;
      }
    }
  }
  return true;
}

/** The source watch() reads from, and whether the watch must end because its replica closed. */
function sourceOf(source: WatchSource | WatchableReplica): { source: WatchSource; gone: () => boolean } {
  if (typeof (source as Partial<WatchSource>).query === "function") return { source: source as WatchSource, gone: () => false };
  const reader = (source as unknown as Record<symbol, Reader | undefined>)[READER];
  if (!reader) {
    throw new ReplicError("INVALID_OPTION", "watch() takes a replica from openReplica / createReplica, or a source with on() and query()");
  }
  const replica = source as WatchableReplica;
  return { source: { on: (event, fn) => replica.on(event, fn), query: driverQuery(reader.driver) }, gone: () => reader.released };
}

/** A Kysely query builder: rows typed from the builder. */
export function watch<Q extends KyselyBuilderLike>(
  source: WatchSource | WatchableReplica,
  query: Q,
  onRows: (rows: RowOf<Q>[]) => void,
  options?: WatchOptions,
): Watch;
/** A compiled query (Kysely's `compile()`, Drizzle's `toSQL()`) or a Drizzle query builder. */
export function watch<R = Row>(
  source: WatchSource | WatchableReplica,
  query: CompiledWatchQuery,
  onRows: (rows: R[]) => void,
  options?: WatchOptions,
): Watch;
export function watch<R = Row>(
  source: WatchSource | WatchableReplica,
  sql: string,
  onRows: (rows: R[]) => void,
  options?: WatchOptions,
): Watch;
export function watch<R = Row>(
  source: WatchSource | WatchableReplica,
  sql: string,
  params: readonly unknown[],
  onRows: (rows: R[]) => void,
  options?: WatchOptions,
): Watch;
export function watch<R = Row>(
  from: WatchSource | WatchableReplica,
  query: string | CompiledWatchQuery,
  paramsOrOnRows: readonly unknown[] | ((rows: R[]) => void),
  onRowsOrOptions?: ((rows: R[]) => void) | WatchOptions,
  maybeOptions?: WatchOptions,
): Watch {
  const givenParams = typeof paramsOrOnRows === "function" ? undefined : paramsOrOnRows;
  const onRows = (typeof paramsOrOnRows === "function" ? paramsOrOnRows : onRowsOrOptions) as (rows: R[]) => void;
  const options = (typeof paramsOrOnRows === "function" ? onRowsOrOptions : maybeOptions) as WatchOptions | undefined;
  if (typeof query !== "string" && givenParams !== undefined) {
    throw new ReplicError("INVALID_OPTION", "watch(): a compiled query carries its own parameters; pass onRows after it, not params");
  }
  // A compiled query or builder is compiled once, now.
  const { sql, params } = typeof query === "string" ? { sql: query, params: givenParams ?? [] } : compiledQuery(query);
  if (!Array.isArray(params)) throw new ReplicError("INVALID_OPTION", "watch(): params must be an array");
  if (typeof onRows !== "function") throw new ReplicError("INVALID_OPTION", "watch(): onRows must be a function");
  const { source, gone } = sourceOf(from);
  const onError = options?.onError ?? ((err: unknown) => console.error("replic watch:", err));
  let closed = false;
  let last: Row[] | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let scheduled = false;

  const tables: Promise<readonly string[] | null> = options?.tables
    ? Promise.resolve(options.tables.map((t) => t.toLowerCase()))
    : tablesRead(source, sql, params);
  let known: Set<string> | null | undefined; // undefined until the lookup finished
  tables.then(
    (t) => {
      if (t === null) return void (known = null);
      // Merge events name `T`; a query on `T_patches` changes with it.
      known = new Set(t.map((name) => (name.endsWith(PATCHES_SUFFIX) ? name.slice(0, -PATCHES_SUFFIX.length) : name)));
    },
    () => (known = null),
  );

  const runOnce = async (): Promise<void> => {
    if (gone()) return close(); // the replica closed: its connection is no longer ours to read
    const rows = await source.query(sql, params);
    if (closed) return;
    if (last === undefined || !sameRows(last, rows)) {
      last = rows;
      onRows(rows as unknown as R[]);
    }
  };

  // One run at a time; a request during a run makes exactly one more run after it.
  const run = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await runOnce();
        } catch (err) {
          if (!closed) onError(err);
        }
      } while (again && !closed);
      running = undefined;
    })();
    return running;
  };

  const schedule = () => {
    if (scheduled || closed) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      void run();
    });
  };

  const off = source.on("merge", (e) => {
    const changed = (e as { tables?: unknown } | undefined)?.tables;
    // Until the lookup finished, and when it failed, every merge counts.
    if (!Array.isArray(changed) || known === undefined || known === null) return schedule();
    if (changed.some((t) => known!.has(String(t).toLowerCase()))) schedule();
  });

  const close = () => {
    closed = true;
    off();
  };

  void run();

  return { close, refresh: () => run(), tables };
}
