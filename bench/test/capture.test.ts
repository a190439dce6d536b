// CI guard for bench/capture.mjs at tiny sizes, so the measurement of captured tables cannot rot:
// every variant on every binding (and cr-sqlite on WASM) ran with finite positive figures, the
// captured variants stamped every write (the script checks it), and the ratios are those of the
// samples. No timing threshold.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runToEnd } from "./run-to-end.js";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-capture-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const VARIANTS = ["raw.batch", "captured.batch", "captured.queue", "upsert.batch", "raw.update", "captured.update", "captured.update.queue", "raw.single", "captured.single", "captured.single+flush", "upsert.single"];

describe("bench/capture.mjs", () => {
  it("measures every variant on every binding, and cr-sqlite on WASM", async () => {
    const args = ["--runs", "1", "--warmup", "0", "--rows", "500", "--single", "50", "--out", out, "--date", "test"];
    const r = await runToEnd(process.execPath, [join(bench, "capture.mjs"), ...args], bench, 280_000, { ...process.env, REPLIC_BENCH_ADAPTERS: "" });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["capture-test.json", "capture-test.md"]);
    const doc = JSON.parse(readFileSync(join(out, "capture-test.json"), "utf8"));
    expect(Object.keys(doc.results).sort()).toEqual(["bun", "node", "wasm"]);
    for (const [binding, res] of Object.entries<{ variants: Record<string, { median: number; samples: number[]; error?: string }>; ratios: { a: string; b: string; median: number }[] }>(doc.results)) {
      const expected = binding === "wasm" ? [...VARIANTS, "cr.raw", "cr.insert"] : VARIANTS;
      expect(Object.keys(res.variants).sort(), binding).toEqual([...expected].sort());
      for (const [name, v] of Object.entries(res.variants)) {
        expect(v.error, `${binding} ${name}`).toBeUndefined();
        expect(v.samples.length, `${binding} ${name}`).toBe(1);
        expect(Number.isFinite(v.median) && v.median > 0, `${binding} ${name}: ${v.median}`).toBe(true);
      }
      for (const x of res.ratios) expect(x.median, `${binding} ${x.a} / ${x.b}`).toBeCloseTo(res.variants[x.a]!.median / res.variants[x.b]!.median, 9);
    }
  }, 300_000);
});
