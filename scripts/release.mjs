#!/usr/bin/env node
// Release flow: packs every public package with pnpm (workspace ranges become real ones), checks
// each tarball is publishable as is, then publishes them core first. `--dry-run` (run in CI by
// packages/transport-ws/test/packed-install.test.ts) stops after the checks.
// Every file named by `exports` or `bin` must be in the tarball, and nothing else the build left
// behind; runtime dependencies are ranges, never type packages (scripts/package-rules.mjs).
//   node scripts/release.mjs --dry-run [--out DIR]
//   node scripts/release.mjs            (needs registry credentials; bump versions first)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dependencyProblems, tarballProblems } from "./package-rules.mjs";

const root = new URL("..", import.meta.url).pathname;
const dryRun = process.argv.includes("--dry-run");
const outArg = process.argv.indexOf("--out");
const out = outArg > 0 ? process.argv[outArg + 1] : mkdtempSync(join(tmpdir(), "replic-release-"));
const pnpm = [join(root, "node_modules", "pnpm", "bin", "pnpm.cjs")];
// Publish order: the core before everything that peers on it.
const order = ["core", "adapter-node", "adapter-bun", "adapter-wasm", "transport-ws", "adapter-durable-object", "transport-nats", "transport-local", "snapshot-s3", "metrics-http", "cli"];

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const problems = [];
const packed = [];
const coreVersion = JSON.parse(readFileSync(join(root, "packages/core/package.json"), "utf8")).version;
for (const name of order) {
  const dir = join(root, "packages", name);
  const before = new Set(readdirSync(out));
  sh(process.execPath, [...pnpm, "pack", "--pack-destination", out], dir);
  const tarball = readdirSync(out).find((f) => !before.has(f));
  const files = sh("tar", ["-tzf", join(out, tarball)], root)
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
  const read = (f) => sh("tar", ["-xzOf", join(out, tarball), `package/${f}`], root);
  const manifest = JSON.parse(read("package.json"));
  const need = ["LICENSE", "README.md", "dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts"];
  for (const f of need) if (!files.includes(f)) problems.push(`${manifest.name}: ${f} missing from the tarball`);
  for (const p of [...tarballProblems(manifest, files, read), ...dependencyProblems(manifest)]) problems.push(`${manifest.name}: ${p}`);
  if (JSON.stringify(manifest).includes("workspace:")) problems.push(`${manifest.name}: a workspace: range survived packing`);
  for (const field of ["license", "repository", "engines", "description"]) if (!manifest[field]) problems.push(`${manifest.name}: no "${field}"`);
  if (manifest.private) problems.push(`${manifest.name}: private`);
  // The CLI is an application, not a library: it brings its own core (and adapters).
  if (name !== "core" && !manifest.bin) {
    const peer = manifest.peerDependencies?.["@replic/core"];
    if (peer !== `^${coreVersion}`) problems.push(`${manifest.name}: peer @replic/core is ${peer}, expected ^${coreVersion}`);
    if (manifest.dependencies?.["@replic/core"]) problems.push(`${manifest.name}: @replic/core must be a peer dependency (one copy per app)`);
  }
  packed.push({ name: manifest.name, version: manifest.version, tarball: join(out, tarball) });
}

for (const p of packed) console.log(`${p.name}@${p.version}  ${p.tarball}`);
if (problems.length) {
  console.error(problems.map((p) => `release check: ${p}`).join("\n"));
  process.exit(1);
}
console.log(`release check: ${packed.length} packages ready`);
if (!dryRun) {
  for (const p of packed) sh("npm", ["publish", p.tarball, "--access", "public"], root);
  console.log("published");
}
