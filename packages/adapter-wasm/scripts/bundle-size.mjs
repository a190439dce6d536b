#!/usr/bin/env node
// Measures what the browser entry costs an app: dist/browser.js bundled for the browser with
// @replic/core (esbuild, minified; @sqlite.org/sqlite-wasm is the app's own import and not
// counted), then gzipped. Fails if anything in it needs a Node module. Writes build-report/bundle-size.json
// (outside dist/, so the report is not published with the package).
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const here = new URL("..", import.meta.url).pathname;
// esbuild is tsup's own dependency: resolve it from there rather than adding another copy.
const esbuild = createRequire(createRequire(import.meta.url).resolve("tsup"))("esbuild");

const result = await esbuild.build({
  entryPoints: [`${here}dist/browser.js`],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  write: false,
  logLevel: "silent",
  metafile: true,
});
const code = result.outputFiles[0].contents;
const inputs = Object.keys(result.metafile.inputs);
const offending = inputs.filter((p) => /node-sqlite3-wasm|(^|\/)node:/.test(p));
if (offending.length) {
  console.error(`bundle-size: the browser entry pulls in Node-only code: ${offending.join(", ")}`);
  process.exit(1);
}
const report = {
  entry: "@replic/adapter-wasm/browser (with @replic/core)",
  minifiedBytes: code.length,
  gzipBytes: gzipSync(code, { level: 9 }).length,
  inputs: inputs.map((p) => p.replace(/^.*node_modules\//, "").replace(here, "")),
};
mkdirSync(`${here}build-report`, { recursive: true });
writeFileSync(`${here}build-report/bundle-size.json`, JSON.stringify(report, null, 2) + "\n");
console.log(`browser bundle (core + adapter-wasm/browser): ${(report.minifiedBytes / 1024).toFixed(1)} KiB minified, ${(report.gzipBytes / 1024).toFixed(1)} KiB gzipped`);
