// Packages as published: the release dry run (scripts/release.mjs) packs and checks every package;
// core, adapter-bun, adapter-wasm and transport-ws are then installed from the tarballs into fresh
// projects outside the workspace — with npm (after `npm init -y`, as the guide says), pnpm and Bun —
// and each runs the getting-started guide (docs/getting-started.md): its files as written and the
// steps of its section 5, a Node (or, installed with Bun, a Bun) server and a Node client over
// WebSocket, the server stopped and restarted while the client writes. The CLI (with snapshot-s3, metrics-http and the
// adapters it depends on) is installed from its tarballs too and runs `npx replic`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { BUN } from "@replic/conformance/peer-process";
import { runGuideSteps, writeGuideFiles } from "../../../examples/test/getting-started.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "replic-packed-"));
const tarballs: string[] = [];
const allTarballs = new Map<string, string>(); // package dir name -> tarball
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const res = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" } });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

beforeAll(() => {
  // The release flow's dry run packs and checks every public package (scripts/release.mjs).
  const dest = join(work, "tarballs");
  mkdirSync(dest);
  const out = run(process.execPath, [join(root, "scripts", "release.mjs"), "--dry-run", "--out", dest], root);
  expect(out).toMatch(/release check: 10 packages ready/);
  for (const f of readdirSync(dest)) allTarballs.set(f.replace(/^replic-(.*)-\d+\.\d+\.\d+\.tgz$/, "$1"), join(dest, f));
  const wanted = ["core", "adapter-bun", "adapter-wasm", "transport-ws"].map((p) => `replic-${p}-`);
  for (const f of readdirSync(dest)) if (wanted.some((w) => f.startsWith(w))) tarballs.push(join(dest, f));
  expect(tarballs).toHaveLength(4);
}, 120_000);

/** The guide's files and the steps of its section 5 (examples/test/getting-started.ts). */
async function runGuide(app: string, server: "node" | "bun"): Promise<void> {
  writeGuideFiles(app);
  await runGuideSteps(app, server === "node" ? [process.execPath, "server.mjs"] : [BUN, "server.ts"]);
}

describe("packed tarballs outside the workspace", () => {
  it("npm only: npm init, npm install, then the getting-started steps with the Node server and client", async () => {
    const app = join(work, "npm-app");
    mkdirSync(app);
    run("npm", ["init", "-y"], app);
    // The guide's `npm install @replic/adapter-wasm @replic/transport-ws node-sqlite3-wasm`, from the tarballs.
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs.filter((t) => !/adapter-bun/.test(t)), "node-sqlite3-wasm@0.8.60"], app);
    for (const f of ["LICENSE", "README.md", "package.json"]) readFileSync(join(app, "node_modules", "@replic", "transport-ws", f));
    await runGuide(app, "node");
  }, 180_000);

  it("install with pnpm and run the same steps (Node server)", async () => {
    const app = join(work, "pnpm-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pnpm-app", private: true, type: "module" }));
    const pnpm = join(root, "node_modules", "pnpm", "bin", "pnpm.cjs");
    run(process.execPath, [pnpm, "add", "--prefer-offline", ...tarballs, "node-sqlite3-wasm@0.8.60"], app);
    await runGuide(app, "node");
  }, 180_000);

  it("install with bun add and run the same steps with the Bun server (server.ts)", async () => {
    const app = join(work, "bun-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "bun-app", private: true, type: "module" }));
    run(BUN, ["add", ...tarballs, "node-sqlite3-wasm@0.8.60"], app);
    await runGuide(app, "bun");
  }, 180_000);

  it("installs the CLI with pnpm and runs `npx replic` (help, and init-table on a real database)", () => {
    const app = join(work, "cli-app");
    mkdirSync(app);
    // Until they are published, the CLI's @replic dependencies resolve to their tarballs (what the
    // registry would serve); pnpm takes better-sqlite3's build from its store.
    const names = ["core", "adapter-node", "adapter-bun", "snapshot-s3", "metrics-http", "cli"];
    const overrides = Object.fromEntries(names.map((n) => [`@replic/${n}`, `file:${allTarballs.get(n)}`]));
    expect(Object.values(overrides).every((v) => v.endsWith(".tgz"))).toBe(true);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "cli-app", private: true, type: "module", pnpm: { overrides } }));
    const pnpm = join(root, "node_modules", "pnpm", "bin", "pnpm.cjs");
    run(process.execPath, [pnpm, "add", "--prefer-offline", allTarballs.get("cli")!], app);
    const help = run("npx", ["replic", "--help"], app);
    for (const command of ["init-table", "status", "snapshot", "restore", "metrics", "verify"]) expect(help).toContain(command);

    const file = join(app, "app.db");
    const db = new Database(file);
    db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT)");
    db.close();
    expect(run("npx", ["replic", "init-table", "app.db", "todos", "--apply"], app)).toContain('CREATE TABLE "todos_patches"');
    const check = new Database(file, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
    check.close();
    expect(tables.map((t) => t.name)).toEqual(["todos", "todos_patches"]);
  }, 120_000);
});
