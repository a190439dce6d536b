// CI guard for bench/patch-layout.mjs at tiny sizes on every binding, so the layout measurement
// cannot rot: checks that every figure it reports is a finite positive number and that replic
// ran on both layouts. No timing threshold.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runToEnd } from "./run-to-end.js";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-layout-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench/patch-layout.mjs", () => {
  it("measures every layout, mix and key order on every binding, and replic on both layouts", async () => {
    const args = ["--runs", "1", "--rows", "300", "--single", "50", "--replic-rows", "1500", "--out", out];
    const r = await runToEnd(process.execPath, [join(bench, "patch-layout.mjs"), ...args], bench, 170_000);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const files = readdirSync(out);
    expect(files.filter((f) => /^patch-layout-.*\.(md|json)$/.test(f)).length, files.join(", ")).toBe(2);
    const doc = JSON.parse(readFileSync(join(out, files.find((f) => f.endsWith(".json"))!), "utf8"));
    const positive = (xs: number[], what: string) => {
      expect(xs.length, what).toBeGreaterThan(0);
      for (const x of xs) expect(Number.isFinite(x) && x > 0, `${what}: ${x}`).toBe(true);
    };
    expect(Object.keys(doc.results).sort()).toEqual(["bun", "node", "wasm"]);
    for (const [binding, res] of Object.entries<{ out: Record<string, Record<string, { rate: number[]; frames: number[] }>>; replic: Record<string, Record<string, number[]>> }>(doc.results)) {
      expect(Object.keys(res.out).sort()).toEqual(["batched/random", "batched/seq", "many/random", "many/seq", "single/random", "single/seq"]);
      for (const [mix, variants] of Object.entries(res.out)) {
        expect(Object.keys(variants)).toEqual(["raw", "by-row", "by-origin", "rowid", "by-row-no-seq", "by-origin-no-row"]);
        for (const [v, s] of Object.entries(variants)) {
          positive(s.rate, `${binding} ${mix} ${v}`);
          // WAL frames per commit on the WAL bindings: at least one page per B-tree written.
          if (mix.startsWith("single/") && binding !== "wasm") {
            positive(s.frames, `${binding} ${mix} ${v} frames`);
            expect(s.frames[0]!, `${binding} ${mix} ${v} frames`).toBeGreaterThanOrEqual(v === "raw" ? 1 : v === "rowid" ? 3 : 2);
          }
        }
      }
      expect(Object.keys(res.replic).sort()).toEqual(
        ["gc", "receive", "receive-late", "upsertMany"].flatMap((p) => [`${p}/random`, `${p}/seq`]).sort(),
      );
      for (const [path, layouts] of Object.entries(res.replic)) {
        positive(layouts["by-row"]!, `${binding} replic ${path} by-row`);
        positive(layouts["by-origin"]!, `${binding} replic ${path} by-origin`);
      }
    }
  }, 180_000);
});
