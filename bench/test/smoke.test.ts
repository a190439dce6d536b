// CI guard: runs every workload at smoke size on every binding so the bench code cannot rot.
// Asserts only that each workload produced finite, positive numbers and that the results were
// written — never a timing threshold.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runToEnd } from "./run-to-end.js";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Figure {
  workload: string;
  binding: string;
  key: string;
  median: number;
  min: number;
  max: number;
  samples: number[];
}
interface Results {
  mode: string;
  figures: Figure[];
  ratios: { median: number }[];
  errors: unknown[];
  machine: { cpuCount: number };
}

describe("bench --smoke", () => {
  let results: Results;
  let status: number | null;
  let stderr = "";

  it("runs every workload and writes the results", async () => {
    const r = await runToEnd(process.execPath, [join(bench, "run.mjs"), "--smoke", "--out", out, "--date", "smoke"], bench, 280_000, {
      ...process.env,
      REPLIC_BENCH_ADAPTERS: "",
    });
    status = r.status;
    stderr = r.stderr;
    for (const ext of ["json", "md", "svg"]) expect(existsSync(join(out, `smoke.${ext}`)), `smoke.${ext} written`).toBe(true);
    results = JSON.parse(readFileSync(join(out, "smoke.json"), "utf8"));
    expect(results.mode).toBe("smoke");
    expect(results.errors, stderr.slice(-3000)).toEqual([]);
    expect(status, stderr.slice(-3000)).toBe(0);
    // Nothing leaks into bench/results from a smoke run.
    expect(readdirSync(out).sort()).toEqual(["smoke.json", "smoke.md", "smoke.svg"]);
  }, 300_000);

  const expected: Record<string, string[]> = {
    "local-writes": ["raw.batched", "replic.batched", "bound.batched", "replic.many", "bound.many", "raw.single", "replic.single", "bound.single"],
    "remote-merge": ["raw.batched", "replic.merge", "bound.merge"],
    "catchup": ["seconds", "senderPeakRss", "receiverPeakRss"],
    "gap-repair": ["detectSeconds", "repairSeconds"],
    "memory": ["peakRss"],
    "open": ["replic.cold", "replic.warm", "replic.coldCpu", "raw.cold", "raw.warm", "bound.cold", "bound.warm"],
  };
  for (const binding of ["node", "bun", "wasm"]) {
    for (const [workload, keys] of Object.entries(expected)) {
      it(`${workload} on ${binding} produced finite positive numbers`, () => {
        expect(results, "the smoke run produced results").toBeDefined();
        for (const key of keys) {
          const f = results.figures.find((x) => x.workload === workload && x.binding === binding && x.key === key);
          expect(f, `${workload}/${binding}/${key}`).toBeDefined();
          for (const v of [f!.median, f!.min, f!.max, ...f!.samples]) {
            expect(Number.isFinite(v) && v > 0, `${workload}/${binding}/${key} = ${v}`).toBe(true);
          }
        }
      });
    }
  }

  it("reports every write and merge path on every binding against raw, its SQL-only bound and cr-sqlite", () => {
    expect(results).toBeDefined();
    const md = readFileSync(join(out, "smoke.md"), "utf8");
    const table = md.slice(md.indexOf("## Paths side by side"), md.indexOf("## Figures"));
    const rows = table.split("\n").filter((l) => /^\| `/.test(l) || /^\| single/.test(l));
    // 4 paths × 3 bindings (one merge size in smoke mode); every ratio but cr-sqlite's is a number.
    expect(rows).toHaveLength(12);
    for (const row of rows) {
      const cells = row.split("|").slice(3, 6).map((c) => c.trim());
      for (const c of cells) expect(c, row).toMatch(/^\d+\.\d+/);
    }
    const crCells = rows.filter((r) => r.includes("WASM") && /transaction|receive/.test(r)).map((r) => r.split("|")[6]!.trim());
    expect(crCells).toHaveLength(2);
    for (const c of crCells) expect(c).toMatch(/^\d+\.\d+/);
  });

  it("cr-sqlite side by side and wire size produced finite positive numbers", () => {
    expect(results).toBeDefined();
    const keys: [string, string][] = [
      ["crsqlite", "cr.insert"],
      ["crsqlite", "cr.merge"],
      ["crsqlite", "replic.insert"],
      ["crsqlite", "replic.merge"],
      ["wire-size", "replic.bytesPerPatch"],
      ["wire-size", "json.bytesPerPatch"],
    ];
    for (const [workload, key] of keys) {
      const f = results.figures.find((x) => x.workload === workload && x.key === key);
      expect(f, `${workload}/${key}`).toBeDefined();
      expect(Number.isFinite(f!.median) && f!.median > 0).toBe(true);
    }
    for (const r of results.ratios) expect(Number.isFinite(r.median) && r.median > 0).toBe(true);
    expect(results.machine.cpuCount).toBeGreaterThan(0);
  });
});
