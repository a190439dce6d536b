// Sizes and run counts. `full` reproduces the published numbers; `smoke` is what CI runs (tiny,
// well under a minute, no timing assertions). Any size can be overridden with --set key=value,
// e.g. --set remoteMerge.sizes=100000 --set runs=3.

export const FULL = {
  runs: 5, // measured runs per figure (median, min, max over these)
  warmup: 1, // warm-up runs per figure, discarded
  sizes: {
    localWrites: { batched: 100_000, single: 100_000 },
    // Each size runs in its own child; `runs`/`warmup` per size keep the 1M case inside the budget.
    // The SQL-only bound (replay of replic's recorded statements) up to `boundUpTo` patches: the
    // recorded log is held in memory.
    remoteMerge: { sizes: [100_000, 1_000_000], batch: 1_000, runs: { 1000000: 3 }, warmup: { 1000000: 0 }, boundUpTo: 100_000 },
    crsqlite: { rows: 100_000, batch: 1_000, runs: 3 },
    catchup: { patches: 1_000_000, batch: 1_000, heartbeatMs: 1_000, runs: 3 },
    gapRepair: { patches: 100_000, peers: 10, missing: 0.01, batch: 1_000, runs: 3 },
    wireSize: { patches: 100_000, batch: 1_000 },
    memory: { patches: 1_000_000, batch: 1_000 },
    // Each run: a fresh process opening cold, then `warm` more opens (and the same raw).
    open: { patches: 1_000_000, origins: 10, batch: 1_000, warm: 5 },
  },
};

export const SMOKE = {
  runs: 1,
  warmup: 0,
  sizes: {
    localWrites: { batched: 2_000, single: 500 },
    remoteMerge: { sizes: [2_000], batch: 200, runs: {}, warmup: {}, boundUpTo: 100_000 },
    crsqlite: { rows: 1_000, batch: 200, runs: 1 },
    catchup: { patches: 5_000, batch: 500, heartbeatMs: 1_000, runs: 1 },
    gapRepair: { patches: 2_000, peers: 10, missing: 0.01, batch: 100, runs: 1 },
    wireSize: { patches: 2_000, batch: 200 },
    memory: { patches: 5_000, batch: 500 },
    open: { patches: 2_000, origins: 10, batch: 100, warm: 2 },
  },
};

/** Applies `--set a.b=value` overrides (numbers and comma lists of numbers parsed). */
export function applyOverride(cfg, assignment) {
  const eq = assignment.indexOf("=");
  if (eq < 0) throw new Error(`--set expects key=value, got ${assignment}`);
  const path = assignment.slice(0, eq).split(".");
  const raw = assignment.slice(eq + 1);
  const parse = (s) => (/^-?[\d_.]+$/.test(s) ? Number(s.replaceAll("_", "")) : s);
  const value = raw.includes(",") ? raw.split(",").map(parse) : parse(raw);
  let o = cfg;
  for (let i = 0; i < path.length - 1; i++) {
    if (o[path[i]] === undefined || typeof o[path[i]] !== "object") o[path[i]] = {};
    o = o[path[i]];
  }
  const last = path[path.length - 1];
  o[last] = Array.isArray(o[last]) && !Array.isArray(value) ? [value] : value;
  return cfg;
}
