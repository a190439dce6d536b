// Docs that run: every ```js block of this package's README is written into the package (so its
// imports resolve as for a user) and executed with Node; it must exit 0 and print something.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const blocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

describe("README code blocks run", () => {
  it("has runnable blocks", () => expect(blocks.length).toBeGreaterThan(0));
  blocks.forEach((code, i) => {
    it(`block ${i + 1}`, () => {
      const dir = join(root, "test", ".snippets");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `readme-${i + 1}.mjs`);
      writeFileSync(file, code);
      const res = spawnSync(process.execPath, [file], { cwd: root, encoding: "utf8", timeout: 30_000 });
      expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
      expect(res.stdout).toMatch(/write docs/);
    }, 40_000);
  });
});
