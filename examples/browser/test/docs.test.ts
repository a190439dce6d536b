// Docs that run, for the browser guide: docs/browser.md's files (each block under
// `<!-- file: NAME -->`) are bundled as written for the browser platform with esbuild; every
// import must resolve under the browser conditions and no Node module may end up in the bundle.
// (A browser cannot run them here without the demo's server; the e2e test runs the same code.)
// The browser example (```ts) of @replic/adapter-wasm's README is bundled the same way.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { codeBlocks } from "../../test/code-blocks.js";

/** The little of esbuild's API used here (esbuild comes with the bundler, untyped from here). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ metafile: { inputs: Record<string, unknown> }; outputFiles: Array<{ text: string }> }>;
}
const esbuild = createRequire(createRequire(import.meta.url).resolve("vite"))("esbuild") as Esbuild;
const here = fileURLToPath(new URL("..", import.meta.url));
const guide = codeBlocks(readFileSync(join(here, "..", "..", "docs", "browser.md"), "utf8"));
const files = guide.filter((b) => b.file);
const wasmReadme = codeBlocks(readFileSync(join(here, "..", "..", "packages", "adapter-wasm", "README.md"), "utf8")).filter((b) => b.lang === "ts");
const dir = mkdtempSync(join(tmpdir(), "replic-browser-docs-"));
symlinkSync(join(here, "node_modules"), join(dir, "node_modules"), "dir");
for (const f of files) writeFileSync(join(dir, f.file!), f.code);
for (const b of wasmReadme) writeFileSync(join(dir, `adapter-wasm-readme-${b.line}.ts`), b.code);
// The one thing the guide leaves to the app: its migrations.
writeFileSync(join(dir, "schema.ts"), `export { TODO_MIGRATIONS as MIGRATIONS } from ${JSON.stringify(join(here, "schema.mjs"))};\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/browser.md", () => {
  it("every code block is a named file", () => {
    expect(guide.filter((b) => b.lang !== "" && !b.file).map((b) => `line ${b.line}`)).toEqual([]);
    expect(files.map((f) => f.file)).toEqual(["worker.ts", "main.ts"]);
  });

  for (const f of files) {
    it(`${f.file} bundles for the browser with no Node module`, async () => {
      const inputs = await bundleInputs(f.file!);
      if (f.file === "worker.ts") expect(inputs.some((i) => /transport-ws\/dist\/browser\.js$/.test(i))).toBe(true);
    });
  }
});

describe("packages/adapter-wasm/README.md", () => {
  it("has a browser example", () => expect(wasmReadme.length).toBeGreaterThan(0));
  for (const b of wasmReadme) {
    it(`the block at line ${b.line} bundles for the browser with no Node module`, async () => {
      const inputs = await bundleInputs(`adapter-wasm-readme-${b.line}.ts`);
      expect(inputs.some((i) => /adapter-wasm\/dist\/browser\.js$/.test(i))).toBe(true);
    });
  }
});

/** Bundles one written file for the browser; returns its inputs, checked free of Node modules. */
async function bundleInputs(file: string): Promise<string[]> {
  const result = await esbuild.build({
    entryPoints: [join(dir, file)],
    bundle: true,
    write: false,
    platform: "browser",
    format: "esm",
    target: "es2022",
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.filter((i) => /^node:|\/node_modules\/(ws|node-sqlite3-wasm)\//.test(i))).toEqual([]);
  return inputs;
}
