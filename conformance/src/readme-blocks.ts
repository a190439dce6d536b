// Docs that run: every code block of a package's README in the given languages is written into
// the package (so its imports resolve as for a user) and executed with the runtime named for its
// language; it must exit 0 and print what the README says it prints.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ReadmeBlocks {
  /** The package directory (holds README.md). */
  root: string;
  /** Fence language → the runtime executable that runs such blocks, e.g. `{ js: process.execPath }`. */
  runtimes: Record<string, string>;
  /** What every block's output must match. */
  prints: RegExp;
  /** Adjusts a block before it runs (e.g. a server address the test started). */
  rewrite?: (code: string) => string;
}

const EXTENSION: Record<string, string> = { js: "mjs", ts: "ts" };

export function readmeBlocksSuite({ root, runtimes, prints, rewrite = (c) => c }: ReadmeBlocks): void {
  const langs = Object.keys(runtimes);
  const fence = new RegExp("```(" + langs.join("|") + ")\\n([\\s\\S]*?)```", "g");
  const blocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(fence)].map((m, i) => ({ lang: m[1]!, code: m[2]!, i }));

  describe("README code blocks run", () => {
    it(`has runnable blocks (${langs.join(", ")})`, () => {
      for (const lang of langs) expect(blocks.filter((b) => b.lang === lang).length, lang).toBeGreaterThan(0);
    });
    for (const b of blocks) {
      it(`block ${b.i + 1} (${b.lang})`, () => {
        const dir = join(root, "test", ".snippets");
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `readme-${b.i + 1}.${EXTENSION[b.lang] ?? b.lang}`);
        writeFileSync(file, rewrite(b.code));
        const res = spawnSync(runtimes[b.lang]!, [file], { cwd: root, encoding: "utf8", timeout: 30_000 });
        expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
        expect(res.stdout).toMatch(prints);
      }, 40_000);
    }
  });
}
