// CI guard for bench/groups.mjs at tiny sizes, so the measurement of group patches cannot rot:
// every path on every binding ran on both builds with finite positive figures (whole and call by
// call), and in the large-group catch-up no row of a group was visible before its
// last part arrived. No timing threshold.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runToEnd } from "./run-to-end.js";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-groups-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Summary {
  median: number;
  samples: number[];
}
interface Big {
  seconds: number;
  peakRss: number;
  messages: number;
  maxIncompletePatches: number;
  countsSeen: Record<string, number>;
  tornCount: number;
}

const BIG = 12_000; // above the sender's 5,000-patch messages: the group arrives in parts
const TX = 3_000;

describe("bench/groups.mjs", () => {
  it("measures both builds on every path and binding, and a large group arrives whole", async () => {
    const args = ["--runs", "1", "--warmup", "0", "--rows", "1500", "--messages", "3", "--batch", "400", "--big", String(BIG), "--big-tx", String(TX), "--out", out, "--date", "test"];
    const r = await runToEnd(process.execPath, [join(bench, "groups.mjs"), ...args], bench, 280_000, { ...process.env, REPLIC_BENCH_ADAPTERS: "" });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["groups-test.json", "groups-test.md"]);
    const doc = JSON.parse(readFileSync(join(out, "groups-test.json"), "utf8"));
    expect(doc.errors).toEqual([]);
    const positive = (s: Summary, what: string) => {
      expect(s.samples.length, what).toBe(1);
      expect(Number.isFinite(s.median) && s.median > 0, `${what}: ${s.median}`).toBe(true);
    };
    expect(Object.keys(doc.paths).sort()).toEqual(["bun", "node", "wasm"]);
    for (const [binding, res] of Object.entries<Record<string, { now: Summary; before: Summary; ratio: Summary }>>(doc.paths)) {
      for (const path of ["batched", "many", "recv-tx", "recv-single"]) {
        positive(res[path]!.now, `${binding} ${path} now`);
        positive(res[path]!.before, `${binding} ${path} before`);
        expect(res[path]!.ratio.median).toBeCloseTo(res[path]!.now.median / res[path]!.before.median, 9);
      }
    }
    // Every path call by call: one now / before per round, CPU and wall, on every binding.
    for (const [binding, res] of Object.entries<{ paired: Record<string, { ratioCpu: Summary; ratio: Summary }> }>(doc.paths)) {
      expect(Object.keys(res.paired).sort(), binding).toEqual(["batched", "many", "recv-single", "recv-tx"]);
      for (const [path, r] of Object.entries(res.paired)) {
        positive(r.ratioCpu, `${binding} ${path} paired CPU`);
        positive(r.ratio, `${binding} ${path} paired wall`);
      }
    }
    expect(readFileSync(join(out, "groups-test.md"), "utf8")).toContain("### Call by call");
    const big: Record<string, Big> = doc.big;
    expect(Object.keys(big).sort()).toEqual(["group", "tx"]);
    for (const [mode, b] of Object.entries(big)) {
      expect(b.tornCount, `${mode}: a count that is not a whole number of groups`).toBe(0);
      expect(b.seconds > 0 && b.peakRss > 0, mode).toBe(true);
    }
    // The one group came in several messages, waited whole, and was seen only empty or complete.
    expect(big.group!.messages).toBeGreaterThan(1);
    expect(big.group!.maxIncompletePatches).toBeGreaterThan(0);
    expect(Object.keys(big.group!.countsSeen).sort()).toEqual(["0", String(BIG)]);
  }, 300_000);
});
