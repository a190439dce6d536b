// Keeps the transport examples honest: each runs its processes (Bun, Node, Node + WASM; for the
// edge hub a Durable Object in workerd with a Node and a Bun spoke)
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

describe("edge-hub example", () => {
  it("a Durable Object hub in workerd, a Node and a Bun spoke: all three hold the same notes", () => {
    const res = run("edge-hub");
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/converged: yes/);
    expect(res.stdout).toMatch(/on Bun /);
    const hub = /^\s+hub\s+(\d+) notes$/m.exec(res.stdout)?.[1];
    const counts = [...res.stdout.matchAll(/^\s+(bun|node)\s+(\d+) notes; /gm)].map((m) => m[2]);
    expect(counts).toEqual([hub, hub]);
    expect(Number(hub)).toBeGreaterThan(0);
  }, 90_000);
});
