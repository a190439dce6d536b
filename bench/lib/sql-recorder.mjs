// A SqliteDriver wrapper that records what replic asks SQLite to do: per statement text, how
// often it ran and for how long; and, while `logging` is on, every call in order with a copy of
// its parameters (the core reuses its parameter buffers), for lib/sql-replay.mjs.
import { now } from "./proc.mjs";

/**
 * recordingDriver(driver, { keepParams }) → {
 *   driver,                 the wrapped driver to open a replica on
 *   start(), stop(),        turn the ordered log on / off (statistics are always kept)
 *   log,                    [{ sql, method: "run" | "get" | "all" | "exec", params }] while logging
 *   statements(),           [{ sql, count, ms, firstParams }] slowest first
 *   reset()                 clears the statistics (not the log)
 * }
 */
export function recordingDriver(driver, { keepParams = false } = {}) {
  const stats = new Map();
  const log = [];
  let logging = false;
  const stat = (sql, params) => {
    let s = stats.get(sql);
    if (!s) stats.set(sql, (s = { sql, count: 0, ms: 0, firstParams: keepParams && params ? params.slice() : undefined }));
    return s;
  };
  const timed = (sql, method, params, fn, numeric) => {
    if (logging) log.push({ sql, method, params: params ? params.slice() : [], numeric });
    const s = stat(sql, params);
    const t = now();
    try {
      return fn();
    } finally {
      s.count++;
      s.ms += now() - t;
    }
  };
  const wrapped = {
    name: driver.name,
    exec: (sql) => timed(sql, "exec", null, () => driver.exec(sql)),
    release: driver.release ? () => driver.release() : undefined,
    // `numeric` (per parameter: stored in an INTEGER/NUMERIC/REAL column) is passed on and
    // recorded, so the replay binds those numbers as the driver does.
    prepare(sql, numeric) {
      const st = driver.prepare(sql, numeric);
      return {
        run: (p) => timed(sql, "run", p, () => st.run(p), numeric),
        get: (p) => timed(sql, "get", p, () => st.get(p), numeric),
        all: (p) => timed(sql, "all", p, () => st.all(p), numeric),
      };
    },
  };
  return {
    driver: wrapped,
    log,
    start: () => (logging = true),
    stop: () => (logging = false),
    reset: () => stats.clear(),
    statements: () => [...stats.values()].sort((a, b) => b.ms - a.ms),
  };
}

/** One line per statement: calls, total ms, µs per call, the SQL (whitespace folded). */
export function formatStatements(statements, perRowOf = null) {
  const lines = [`${perRowOf ? "per row  " : "  calls  "}ms total  µs/call  statement`];
  for (const s of statements) {
    const calls = perRowOf ? (s.count / perRowOf).toFixed(3) : String(s.count);
    lines.push(`${calls.padStart(7)}  ${s.ms.toFixed(1).padStart(8)}  ${((1000 * s.ms) / s.count).toFixed(2).padStart(7)}  ${fold(s.sql).slice(0, 160)}`);
  }
  return lines.join("\n");
}

export function fold(sql) {
  return sql.replace(/\s+/g, " ").trim();
}
