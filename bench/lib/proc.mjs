// Process helpers shared by node and bun children.
import { readFileSync, writeFileSync } from "node:fs";

export const runtime = typeof globalThis.Bun !== "undefined" ? "bun" : "node";

/** Peak resident set size of this process in bytes (Linux VmHWM; falls back to resourceUsage). */
export function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}

/** Current resident set size in bytes. */
export function rss() {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return process.memoryUsage().rss;
}

/** Full garbage collection if the runtime lets us (node --expose-gc, Bun.gc). */
export function gc() {
  if (typeof globalThis.Bun !== "undefined") globalThis.Bun.gc(true);
  else if (typeof globalThis.gc === "function") globalThis.gc();
}

export const now = () => performance.now();

/** Marker the parent looks for on a child's stdout. */
export const RESULT_MARK = "@@BENCH_RESULT@@";
export function emit(result) {
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`);
}

/**
 * Resets the kernel's peak-RSS mark (Linux: "5" into /proc/self/clear_refs), so a later peakRss()
 * measures only what follows, not the set-up. Returns false where that is not possible.
 */
export function resetPeakRss() {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}
