// Keeps the transport examples honest: each runs its three processes (Bun, Node, Node + WASM)
// and must report that every database file ended with the same rows.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

function run(example: string) {
  const script = fileURLToPath(new URL(`../${example}/run.mjs`, import.meta.url));
  return spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000 });
}

describe("transport examples", () => {
  for (const example of ["ws-hub", "nats"]) {
    it(`${example}: three runtimes converge`, () => {
      const res = run(example);
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/converged: yes/);
      expect(res.stdout).toMatch(/on Bun /);
      const counts = [...res.stdout.matchAll(/^\s+(bun|node|wasm)\s+(\d+) notes; (.*)$/gm)].map((m) => `${m[2]} ${m[3]}`);
      expect(counts).toHaveLength(3);
      expect(new Set(counts).size).toBe(1);
    }, 90_000);
  }
});
