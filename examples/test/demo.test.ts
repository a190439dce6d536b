// Keeps the README's first command honest: the demo must run and report convergence.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

describe("the README demo", () => {
  it("runs four peers over a lossy network and prints that they converged", () => {
    const demo = fileURLToPath(new URL("../demo.mjs", import.meta.url));
    const res = spawnSync(process.execPath, [demo], { encoding: "utf8", timeout: 60_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/converged: yes/);
    // Every peer lists the same heads for all four origins.
    const heads = [...res.stdout.matchAll(/holds patches (.*)$/gm)].map((m) => m[1]);
    expect(heads).toHaveLength(4);
    expect(new Set(heads).size).toBe(1);
  }, 90_000);
});
