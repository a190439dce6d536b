// CI guard for bench/signatures.mjs at tiny sizes, so the measurement of Ed25519 for signed
// origins cannot rot: every implementation signed and verified (its own signature verifies, an
// altered message does not: the bench stops otherwise) on Node and Bun with finite positive
// figures, receive() was measured beside them, and both result files were written. No timing
// threshold.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runToEnd } from "./run-to-end.js";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-signatures-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench/signatures.mjs", () => {
  it("times every Ed25519 implementation on Node and Bun next to receive()", async () => {
    const args = ["--ops", "20", "--runs", "1", "--messages", "2", "--out", out, "--date", "test"];
    const r = await runToEnd(process.execPath, [join(bench, "signatures.mjs"), ...args], bench, 120_000, { ...process.env, REPLIC_BENCH_ADAPTERS: "" });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["signatures-test.json", "signatures-test.md"]);
    const doc = JSON.parse(readFileSync(join(out, "signatures-test.json"), "utf8"));
    expect(doc.errors).toEqual([]);
    expect(Object.keys(doc.results).sort()).toEqual(["bun", "node"]);
    for (const [rt, figures] of Object.entries<Record<string, { median: number; samples: number[] }>>(doc.results)) {
      const keys = ["receive|patch|merge", "sha512|group|hash"];
      for (const impl of ["node:crypto", "WebCrypto", "@noble/ed25519"])
        for (const size of ["digest", "group"]) for (const op of ["sign", "verify"]) keys.push(`${impl}|${size}|${op}`);
      expect(Object.keys(figures).sort(), rt).toEqual(keys.sort());
      for (const k of keys) {
        expect(figures[k]!.samples, `${rt} ${k}`).toHaveLength(1);
        expect(Number.isFinite(figures[k]!.median) && figures[k]!.median > 0, `${rt} ${k}: ${figures[k]!.median}`).toBe(true);
      }
    }
    expect(readFileSync(join(out, "signatures-test.md"), "utf8")).toContain("patches per verification for < 5 %");
  });
});
