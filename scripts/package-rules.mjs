// What a published package may contain and ask for, so that installing it stays lean
// (docs/operations.md, "What an install brings"). Checked on every tarball by the release flow
// (scripts/release.mjs) and on every package by scripts/test/package-rules.test.mjs.
//  - Runtime dependencies are ranges: an app that already has a compatible version (of
//    better-sqlite3, say: a native build) keeps its one copy. Type packages are never runtime
//    dependencies: TypeScript users get them as optional peers.
//  - A tarball holds package.json, README.md, LICENSE and the build's JavaScript and declaration
//    files that an entry point reaches: nothing the build leaves beside them (reports, source maps,
//    stale chunks of an earlier build).
import { dirname, join, normalize } from "node:path";

const EXACT_VERSION = /^=?v?\d+\.\d+\.\d+(?:[-+][\w.+-]*)?$/;
const CODE_FILE = /^dist\/[\w.-]+\.(?:js|cjs|mjs|d\.ts|d\.cts|d\.mts)$/;
const ALWAYS = ["package.json", "README.md", "LICENSE"];

/**
 * Problems with a manifest's runtime dependencies. Works on a package.json as written
 * (`workspace:*` packs to an exact version, `workspace:^` to a range) and as packed.
 */
export function dependencyProblems(manifest) {
  const problems = [];
  for (const [name, spec] of Object.entries(manifest.dependencies ?? {})) {
    if (name.startsWith("@types/")) {
      problems.push(`runtime dependency ${name}: type packages belong in devDependencies and, when the published types need them, optional peerDependencies`);
    }
    const exact = EXACT_VERSION.test(spec) || spec === "workspace:*" || EXACT_VERSION.test(spec.replace(/^workspace:/, ""));
    if (exact) problems.push(`runtime dependency ${name} is pinned to ${spec}: use a range, so an app's compatible copy is shared`);
  }
  return problems;
}

/** Every file a manifest names as an entry point (exports, bin, main, module, types), as paths. */
export function entryPoints(manifest) {
  const found = [];
  const walk = (v) => {
    if (typeof v === "string") found.push(v);
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  walk(manifest.exports);
  walk(typeof manifest.bin === "string" ? { bin: manifest.bin } : manifest.bin);
  for (const field of ["main", "module", "types"]) walk(manifest[field]);
  return [...new Set(found.filter((f) => f.startsWith("./") || !f.startsWith(".")).map((f) => normalize(f.replace(/^\.\//, ""))))].filter((f) => f !== "package.json");
}

/** Relative modules a JavaScript or declaration file imports, requires or re-exports. */
function relativeImports(text) {
  const out = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/** The files a relative import can stand for: the module itself and its declaration twins. */
function twins(path) {
  const base = path.replace(/\.(?:d\.)?(?:[cm]?js|[cm]?ts)$/, "");
  return [".js", ".cjs", ".mjs", ".d.ts", ".d.cts", ".d.mts"].map((ext) => base + ext);
}

/**
 * Problems with a tarball's file list. `files` are paths inside the package (no "package/"
 * prefix); `read(path)` returns a file's text. A file is a build leftover when it is not one of
 * package.json, README.md, LICENSE or dist/*.{js,cjs,mjs,d.ts,d.cts,d.mts}, or when no entry point
 * reaches it through relative imports.
 */
export function tarballProblems(manifest, files, read) {
  const problems = [];
  const present = new Set(files);
  for (const f of files) {
    if (!ALWAYS.includes(f) && !CODE_FILE.test(f)) problems.push(`build leftover in the tarball: ${f}`);
  }
  const reached = new Set();
  const queue = [];
  const reach = (f) => {
    for (const t of twins(f)) {
      if (present.has(t) && !reached.has(t)) {
        reached.add(t);
        queue.push(t);
      }
    }
  };
  for (const entry of entryPoints(manifest)) {
    if (!present.has(entry)) problems.push(`entry point ${entry} is missing from the tarball`);
    reach(entry);
  }
  while (queue.length > 0) {
    const f = queue.shift();
    for (const spec of relativeImports(read(f))) reach(normalize(join(dirname(f), spec)));
  }
  for (const f of files) {
    if (CODE_FILE.test(f) && !reached.has(f)) problems.push(`build leftover in the tarball: ${f} (no entry point imports it)`);
  }
  return problems;
}
