// CI guard for bench/bootstrap: runs it at smoke size and checks it measured what it claims
// (the snapshot path caught up only the tail, the other path everything). No timing assertion.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-bench-bootstrap-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench/bootstrap --smoke", () => {
  it("bootstraps from a snapshot plus the tail, and from patches alone, and writes the results", () => {
    const r = spawnSync(process.execPath, [join(bench, "bootstrap", "run.mjs"), "--smoke", "--rows", "5000", "--tail", "500", "--out", out, "--date", "smoke"], {
      cwd: bench,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const res = JSON.parse(readFileSync(join(out, "bootstrap-smoke.json"), "utf8"));
    expect(res).toMatchObject({ rows: 5000, tail: 500 });
    expect(res.viaSnapshot).toMatchObject({ mode: "snapshot", rows: 5000, patchesCaughtUp: 500 });
    expect(res.viaPatches).toMatchObject({ mode: "patches", rows: 5000, patchesCaughtUp: 5000 });
    for (const v of [res.viaSnapshot, res.viaPatches]) {
      expect(v.totalMs).toBeGreaterThan(0);
      expect(v.peakRssMiB).toBeGreaterThan(0);
    }
    expect(res.viaSnapshot.restoreMs).toBeGreaterThan(0);
    expect(res.snapshot.bytes).toBeGreaterThan(0);
    expect(readFileSync(join(out, "bootstrap-smoke.md"), "utf8")).toMatch(/\| snapshot \+ tail \|/);
  });
});
