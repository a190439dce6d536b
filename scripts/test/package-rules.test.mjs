// scripts/package-rules.mjs on fixtures (each rule must catch its case), then on every package of
// packages/: its manifest, its engines and the file list `npm pack` would publish (after the build).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { dependencyProblems, entryPoints, tarballProblems } from "../package-rules.mjs";

const root = new URL("../..", import.meta.url).pathname;
const packages = readdirSync(join(root, "packages")).sort();
const manifestOf = (p) => JSON.parse(readFileSync(join(root, "packages", p, "package.json"), "utf8"));

test("a runtime dependency on a type package is refused", () => {
  const problems = dependencyProblems({ dependencies: { "@types/better-sqlite3": "^7.6.0" } });
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^runtime dependency @types\/better-sqlite3: type packages belong in devDependencies/);
});

test("an exact pin of a runtime dependency is refused; ranges pass", () => {
  for (const pin of ["12.6.2", "=12.6.2", "v1.0.0", "3.54.1-build1", "workspace:*", "workspace:0.1.0"]) {
    assert.deepEqual(dependencyProblems({ dependencies: { x: pin } }), [`runtime dependency x is pinned to ${pin}: use a range, so an app's compatible copy is shared`], pin);
  }
  for (const range of ["^12.6.2", "~1.0.20", ">=11 <14", "12.x", "workspace:^", "workspace:~"]) {
    assert.deepEqual(dependencyProblems({ dependencies: { x: range } }), [], range);
  }
  assert.deepEqual(dependencyProblems({ devDependencies: { x: "1.0.0", "@types/x": "1.0.0" } }), []);
});

const lib = {
  exports: { ".": { import: { types: "./dist/index.d.ts", default: "./dist/index.js" }, require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" } } },
  main: "./dist/index.cjs",
};
const sources = {
  "dist/index.js": 'import { a } from "./chunk-A1.js";\nexport { a };\n',
  "dist/index.cjs": "module.exports = {};\n",
  "dist/index.d.ts": "export declare const a: number;\n",
  "dist/index.d.cts": "export declare const a: number;\n",
  "dist/chunk-A1.js": "export const a = 1;\n",
};
const clean = ["package.json", "README.md", "LICENSE", ...Object.keys(sources)];
const read = (f) => sources[f] ?? "";

test("a tarball of entry points, the chunks they import and the three package files passes", () => {
  assert.deepEqual(entryPoints(lib).sort(), ["dist/index.cjs", "dist/index.d.cts", "dist/index.d.ts", "dist/index.js"]);
  assert.deepEqual(tarballProblems(lib, clean, read), []);
});

test("build leftovers are refused: a report, a source map, a build info file, a stale chunk", () => {
  const leftovers = ["dist/bundle-size.json", "dist/index.js.map", "tsconfig.tsbuildinfo", "dist/chunk-OLD0.js"];
  const problems = tarballProblems(lib, [...clean, ...leftovers], read);
  assert.deepEqual(problems, [
    "build leftover in the tarball: dist/bundle-size.json",
    "build leftover in the tarball: dist/index.js.map",
    "build leftover in the tarball: tsconfig.tsbuildinfo",
    "build leftover in the tarball: dist/chunk-OLD0.js (no entry point imports it)",
  ]);
});

test("an entry point missing from the tarball is named", () => {
  assert.deepEqual(tarballProblems(lib, clean.filter((f) => f !== "dist/index.cjs"), read), ["entry point dist/index.cjs is missing from the tarball"]);
});

test("every package's runtime dependencies are ranges and none is a type package", () => {
  for (const p of packages) assert.deepEqual(dependencyProblems(manifestOf(p)), [], p);
});

test("adapter-node's types need @types/better-sqlite3: an optional peer, and a devDependency for its own build", () => {
  const m = manifestOf("adapter-node");
  assert.ok(m.peerDependencies["@types/better-sqlite3"]);
  assert.equal(m.peerDependenciesMeta?.["@types/better-sqlite3"]?.optional, true);
  assert.ok(m.devDependencies["@types/better-sqlite3"]);
  assert.equal(m.dependencies?.["@types/better-sqlite3"], undefined);
});

test("engines name the runtimes a package runs on: Bun only for adapter-bun, Node 20 and Bun where Bun tests it", () => {
  for (const p of packages) {
    const { engines = {}, scripts = {} } = manifestOf(p);
    if (p === "adapter-bun") assert.deepEqual(Object.keys(engines), ["bun"], p);
    else assert.equal(engines.node, ">=20", p);
    // A package whose tests run under `bun test` says so; the core runs under every adapter.
    if (/\bbun test\b/.test(scripts.test ?? "") || p === "core") assert.ok(engines.bun, `${p}: engines.bun`);
  }
});

test("what `npm pack` would publish for each package holds no build leftover", async () => {
  const listed = await Promise.all(
    packages.map(async (p) => {
      const dir = join(root, "packages", p);
      const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: dir, encoding: "utf8" });
      return { p, dir, files: JSON.parse(stdout)[0].files.map((f) => f.path) };
    }),
  );
  for (const { p, dir, files } of listed) {
    assert.ok(files.includes("dist/index.js"), `${p}: not built (run the build first)`);
    assert.deepEqual(tarballProblems(manifestOf(p), files, (f) => readFileSync(join(dir, f), "utf8")), [], p);
  }
});
