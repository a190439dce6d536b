export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** { median, min, max, n, samples } of a sample list. */
export function summarize(samples) {
  return {
    median: median(samples),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
    n: samples.length,
    samples,
  };
}

/** Per-round ratios a[i]/b[i] (variants ran interleaved, one sample each per round). */
export function pairedRatios(a, b) {
  const n = Math.min(a.length, b.length);
  const out = [];
  for (let i = 0; i < n; i++) out.push(a[i] / b[i]);
  return out;
}
