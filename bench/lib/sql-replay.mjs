// The SQL-only bound of a path: replic's own statements, recorded in order with their parameters
// (lib/sql-recorder.mjs), replayed on a fresh database with the same schema through the
// binding's own statement API — no replic, no adapter driver, parameters already in the form the
// driver hands to the binding. Its time is what SQLite (and the binding's call overhead, as in
// the raw baseline) needs for exactly the work replic asks for; replic / bound is the share of
// that left once replic's JavaScript runs around it.

/**
 * Turns a recorded log into a replay plan for one binding: one entry per call, the statement text,
 * how it is called (run: writes; rows: reads, fetched as the driver fetches them; exec) and its
 * parameters converted the way the adapter's driver converts them (untimed, done once).
 */
export function replayPlan(binding, log) {
  const conv = binding === "node" ? toBetterSqlite3 : (p) => p;
  return log.map((e) => ({ sql: e.sql, kind: e.method === "exec" ? "exec" : e.method === "run" ? "run" : "rows", first: e.method === "get", params: conv(e.params, e.numeric) }));
}

// better-sqlite3 binds every number as REAL; replic's driver passes safe integers as bigint,
// except parameters the statement's hint marks as stored in a numeric column.
function toBetterSqlite3(params, numeric) {
  let out = params;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === "number" && Number.isSafeInteger(v) && !numeric?.[i]) {
      if (out === params) out = params.slice();
      out[i] = BigInt(v);
    }
  }
  return out;
}

/**
 * Prepares every statement of a plan on `dbh` (a lib/bindings.mjs handle) and returns
 * run() => milliseconds, which replays the plan once. Call it on a fresh database that has the
 * schema replic saw (the benchmark table, its patch table and replic's own tables).
 */
export function prepareReplay(dbh, plan) {
  const native = dbh.native;
  const cache = new Map();
  const stmtOf = (sql) => {
    let st = cache.get(sql);
    if (st === undefined) cache.set(sql, (st = native.prepare(sql)));
    return st;
  };
  const steps = plan.map((e) => (e.kind === "exec" ? [null, e] : [stmtOf(e.sql), e]));
  const call = caller(dbh.binding, native);
  return {
    run() {
      const t0 = performance.now();
      for (let i = 0; i < steps.length; i++) {
        const [st, e] = steps[i];
        call(st, e);
      }
      return performance.now() - t0;
    },
    finalize() {
      if (dbh.binding !== "node") for (const st of cache.values()) st.finalize?.();
      cache.clear();
    },
  };
}

/** How each binding runs one step, reading rows the way replic's driver for it reads them. */
function caller(binding, native) {
  if (binding === "node") {
    const reader = new WeakSet();
    return (st, e) => {
      if (e.kind === "exec") return native.exec(e.sql);
      if (e.kind === "run" || !st.reader) return st.run(...e.params);
      if (!reader.has(st)) {
        st.raw(true);
        st.safeIntegers(true);
        reader.add(st);
      }
      return e.first ? st.get(...e.params) : st.all(...e.params);
    };
  }
  if (binding === "bun") {
    const reader = new WeakSet();
    return (st, e) => {
      if (e.kind === "exec") return native.exec(e.sql);
      if (e.kind === "run" || st.columnNames.length === 0) return st.run(e.params);
      if (!reader.has(st)) {
        st.safeIntegers?.(true);
        reader.add(st);
      }
      return st.values(e.params);
    };
  }
  // node-sqlite3-wasm: run() for writes, all() for reads (its get() leaves a statement active).
  return (st, e) => {
    if (e.kind === "exec") return native.exec(e.sql);
    if (e.kind === "run" && !READS.test(e.sql)) return st.run(e.params);
    return st.all(e.params);
  };
}

/** Statements that return rows even when replic only runs them (stepped to the end in replay). */
const READS = /^\s*(SELECT|PRAGMA|WITH)\b/i;
