// Workload 7 — memory of remote merge: one merge of N patches (default 1,000,000) in a fresh
// process; reports the process's peak RSS (VmHWM) and its RSS just before merging (runtime, the
// SQLite binding and the encoded input messages, which the merge reads from memory). The input is
// encoded in the same process first; the kernel's peak mark is reset after that, before merging.
// Databases as in workload 2: files on better-sqlite3 and bun:sqlite, :memory: on WASM, where the
// database itself is part of the RSS; its size is reported next to the peak.
import { adapterFor, core } from "../lib/replic.mjs";
import { singleOriginHistory } from "../lib/history.mjs";
import { gc, peakRss, resetPeakRss, rss } from "../lib/proc.mjs";
import { ORIGIN, mergeOnce } from "./remote-merge.mjs";

export async function run(cfg, log) {
  const { binding, tmpDir } = cfg;
  const { patches: size, batch } = cfg.sizes.memory;
  const adapter = await adapterFor(binding);
  const history = singleOriginHistory(await core(), { origin: ORIGIN, count: size, batch });
  let baseline = 0;
  let reset = false;
  const { seconds, dbBytes } = await mergeOnce(adapter, binding, tmpDir, history, size, () => {
    gc();
    reset = resetPeakRss(); // the peak from encoding the input is not the merge's
    baseline = rss();
  }, { measureDb: true });
  const peak = peakRss();
  log(`merged ${size.toLocaleString("en-US")} in ${seconds.toFixed(2)} s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB (before merge ${(baseline / 2 ** 20).toFixed(0)} MB)`);
  return {
    metrics: {
      peakRss: { samples: [peak] },
      baselineRss: { samples: [baseline] },
      rate: { samples: [size / seconds] },
      ...(binding === "wasm" ? { dbBytes: { samples: [dbBytes] } } : {}),
    },
    params: { count: size, batch, wireBytes: history.bytes, peakResetBeforeMerge: reset },
    notes: reset ? [] : ["could not reset the peak-RSS mark: the peak includes encoding the input"],
  };
}
