// Docs that run: every ```js block of this package's README is executed with Node and every
// ```ts block with Bun, from inside the package (so imports resolve as for a user), and must exit 0.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { BUN } from "./peer-process.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```(js|ts)\n([\s\S]*?)```/g)].map((m, i) => ({ lang: m[1], code: m[2], i }));

describe("README code blocks run", () => {
  it("has runnable blocks for Node and Bun", () => {
    expect(blocks.filter((b) => b.lang === "js").length).toBeGreaterThan(0);
    expect(blocks.filter((b) => b.lang === "ts").length).toBeGreaterThan(0);
  });
  for (const b of blocks) {
    it(`block ${b.i + 1} (${b.lang === "js" ? "Node" : "Bun"})`, () => {
      const dir = join(root, "test", ".snippets");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `readme-${b.i + 1}.${b.lang === "js" ? "mjs" : "ts"}`);
      writeFileSync(file, b.code);
      const res = spawnSync(b.lang === "js" ? process.execPath : BUN, [file], { encoding: "utf8", timeout: 30_000, cwd: root });
      expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
      expect(res.stdout.length).toBeGreaterThan(0);
    }, 40_000);
  }
});
