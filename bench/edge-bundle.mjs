#!/usr/bin/env node
// Size of what a Worker ships to run a replic hub in a Durable Object: the edge-hub example's
// worker (core + adapter + hub + the WebSocket frames and handshake) bundled the way wrangler
// bundles (esbuild, ES module, minified, tree-shaken), then gzipped. Also the adapter alone
// (`openReplica` on ctx.storage, no hub) and the core alone, to show what each layer adds.
// Results go to bench/results/edge-bundle.md (and .json).
//   node bench/edge-bundle.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "replic-edge-bundle-"));

const entries = [
  { name: "hub worker (examples/edge-hub/worker.ts)", file: join(root, "examples", "edge-hub", "worker.ts") },
  { name: "adapter: openReplica on ctx.storage", code: `export { openReplica } from "@replic/adapter-durable-object";` },
  { name: "core alone: createReplica", code: `export { createReplica } from "@replic/core";` },
];

const results = [];
for (const [i, e] of entries.entries()) {
  let entry = e.file;
  if (!entry) {
    // Resolved from bench/, which depends on both packages.
    entry = join(root, "bench", `.edge-entry-${i}.mjs`);
    writeFileSync(entry, e.code + "\n");
  }
  const outfile = join(dir, `bundle-${i}.mjs`);
  try {
    await build({ entryPoints: [entry], outfile, bundle: true, minify: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], conditions: ["workerd", "worker", "browser", "import"], target: "es2022", logLevel: "error" });
  } finally {
    if (!e.file) rmSync(entry, { force: true });
  }
  const bytes = readFileSync(outfile);
  results.push({ bundle: e.name, minBytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length });
}
rmSync(dir, { recursive: true, force: true });

const kib = (n) => (n / 1024).toFixed(1);
const md = [
  `# Edge bundle size (${new Date().toISOString().slice(0, 10)})`,
  "",
  `esbuild ${(await import("esbuild")).version}, ES module, minified, tree-shaken (as wrangler bundles a Worker); gzip level 9. Made by \`node bench/edge-bundle.mjs\`.`,
  "",
  "| bundle | min | min + gzip |",
  "|---|---:|---:|",
  ...results.map((r) => `| ${r.bundle} | ${kib(r.minBytes)} KiB | ${kib(r.gzipBytes)} KiB |`),
  "",
  "A Worker's compressed size limit is 3 MiB on the free plan and 10 MiB on the paid plans.",
  "",
].join("\n");
const out = fileURLToPath(new URL("./results/edge-bundle", import.meta.url));
writeFileSync(`${out}.md`, md);
writeFileSync(`${out}.json`, JSON.stringify(results, null, 2) + "\n");
process.stdout.write(md);
