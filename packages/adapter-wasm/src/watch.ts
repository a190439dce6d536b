/**
 * Reactive reads: `watch(source, sql, params, onRows)` runs a query now and again whenever a merge
 * (local or remote) touched one of the tables it reads, and calls `onRows` only when the result
 * differs from the last one delivered. Framework-free: `onRows` can set React state, a Svelte
 * store, a signal or plain DOM.
 *
 * Which tables a query reads is asked of SQLite, not parsed from the text: `EXPLAIN <sql>` lists
 * the b-trees the statement opens (OpenRead, root page), and `sqlite_schema` maps root pages to
 * tables, so joins, views, subqueries and CTEs are covered. When that is not possible (virtual
 * tables, attached databases, an engine without EXPLAIN), the query re-runs on every merge.
 *
 * Merge events that name their tables (`{ tables: string[] }`) re-run only affected queries; an
 * event without `tables` re-runs every watched query. Events that fire together (one receive, a
 * burst of upserts) cause one re-run: runs are scheduled on a microtask and never overlap.
 */

export type Row = Record<string, unknown>;

/** Anything with merge events and a way to run a read-only query: a worker client, or a replica plus its db. */
export interface WatchSource {
  /** Merge events; an event object with `tables: string[]` narrows which queries re-run. */
  on(event: "merge", listener: (e: unknown) => void): () => void;
  query(sql: string, params: readonly unknown[]): Row[] | Promise<Row[]>;
}

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

export function watch<R = Row>(
  source: WatchSource,
  sql: string,
  params: readonly unknown[],
  onRows: (rows: R[]) => void,
  options: WatchOptions = {},
): Watch {
  const onError = options.onError ?? ((err: unknown) => console.error("replic watch:", err));
  let closed = false;
  let last: Row[] | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let scheduled = false;

  const tables: Promise<readonly string[] | null> = options.tables
    ? Promise.resolve(options.tables.map((t) => t.toLowerCase()))
    : tablesRead(source, sql, params);
  let known: readonly string[] | null | undefined; // undefined until the lookup finished
  tables.then(
    (t) => (known = t),
    () => (known = null),
  );

  const runOnce = async (): Promise<void> => {
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
    if (changed.some((t) => known!.includes(String(t).toLowerCase()))) schedule();
  });

  void run();

  return {
    close() {
      closed = true;
      off();
    },
    refresh: () => run(),
    tables,
  };
}
