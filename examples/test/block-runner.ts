// Runs one Markdown code block as a program, for the docs tests: ```js under Node, ```ts under
// the real Bun binary, in a fresh temp dir whose node_modules are the examples workspace's (so
// imports resolve as in a user's project). A fragment runs inside the prelude its
// `<!-- runs with prelude: NAME -->` comment names (preludes/NAME.mjs or .ts, the block inserted
// at `// @block`); a complete program is saved under the name its `<!-- file: NAME -->` comment
// gives (else main.mjs / main.ts). Fixed ports written in blocks (and preludes) are pointed at free loopback
// ports, and 0.0.0.0 at 127.0.0.1: tests listen on loopback only.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../conformance/src/peer-process.js";
import type { CodeBlock } from "./code-blocks.js";

export const examples = fileURLToPath(new URL("..", import.meta.url));
export const repoRoot = join(examples, "..");
export const BUN = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin", "bun.exe");

/** The program a block runs as: itself, or its prelude with the block inserted. */
export function blockSource(b: CodeBlock): string {
  if (!b.prelude) return b.code;
  const prelude = readFileSync(join(examples, "test", "preludes", `${b.prelude}.${b.lang === "js" ? "mjs" : "ts"}`), "utf8");
  if (!prelude.includes("// @block")) throw new Error(`prelude ${b.prelude} has no // @block marker`);
  return prelude.replace("// @block", b.code);
}

export interface RunOptions {
  /** Fixed ports to replace: a number, or a port already chosen (a server the test started). */
  ports?: Record<number, number | undefined>;
  env?: Record<string, string>;
}

/** Runs one block in its own directory under `work`; resolves to spawnSync's result. */
export async function runBlock(b: CodeBlock, work: string, options: RunOptions = {}) {
  const dir = mkdtempSync(join(work, `line-${b.line}-`));
  symlinkSync(join(examples, "node_modules"), join(dir, "node_modules"), "dir");
  let code = blockSource(b).replaceAll("0.0.0.0", "127.0.0.1");
  for (const [fixed, given] of Object.entries(options.ports ?? {})) {
    if (!new RegExp(`\\b${fixed}\\b`).test(code)) continue;
    code = code.replace(new RegExp(`\\b${fixed}\\b`, "g"), String(given ?? (await freePort())));
  }
  // A user's project as `npm init -y` makes it: a file relying on "type": "module" fails here.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "docs-block", private: true, type: "commonjs" }));
  const file = join(dir, b.file ?? (b.lang === "js" ? "main.mjs" : "main.ts"));
  writeFileSync(file, code);
  const env = { ...process.env, ...options.env };
  return spawnSync(b.lang === "js" ? process.execPath : BUN, [file], { cwd: dir, env, encoding: "utf8", timeout: 30_000 });
}
