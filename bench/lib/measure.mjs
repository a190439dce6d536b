// Running variants interleaved: warm-up rounds first, then `runs` rounds; in each round every
// variant runs once on a fresh database, in alternating order so drift hits all alike.
import { gc } from "./proc.mjs";

/**
 * variants: { name: async () => number }   (each returns one sample, e.g. rows/s)
 * Returns { name: { samples: number[] } | { error } }.
 */
export async function interleave(variants, { runs, warmup, only }, log = () => {}) {
  // `only` (from the config) restricts to some variants, e.g. for profiling.
  const names = Object.keys(variants).filter((n) => !only || only.includes(n));
  const out = {};
  for (const n of names) out[n] = { samples: [] };
  for (let round = -warmup; round < runs; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      if (out[n].error) continue;
      gc();
      try {
        const v = await variants[n]();
        if (round >= 0) out[n].samples.push(v);
        log(`${round < 0 ? "warm-up" : `run ${round + 1}/${runs}`} ${n}: ${fmt(v)}`);
      } catch (e) {
        out[n] = { error: String(e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e) };
        log(`${n} failed: ${out[n].error}`);
      }
    }
  }
  return out;
}

function fmt(v) {
  if (typeof v !== "number") return JSON.stringify(v);
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v.toPrecision(3);
}
