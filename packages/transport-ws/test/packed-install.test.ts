// Packages as published: the release dry run (scripts/release.mjs) packs and checks every package;
// core, adapter-bun, adapter-wasm and transport-ws are then installed from the tarballs into fresh
// projects outside the workspace — with npm (after `npm init -y`, as the guide says), pnpm and Bun —
// and each runs the getting-started guide (docs/getting-started.md): its files as written and the
// steps of its section 5, a Node (or, installed with Bun, a Bun) server and a Node client over
// WebSocket, the server stopped and restarted while the client writes. The CLI (with snapshot-s3, metrics-http and the
// adapters it depends on) is installed from its tarballs too, into an app that already has
// better-sqlite3, and runs `npx replic`.
// Installs work from an empty package store: everything comes from the npm registry, and
// better-sqlite3 then compiles against the running Node's headers (scripts/node-headers.mjs),
// which is what the CLI install's long timeout is for.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { BUN } from "@replic/conformance/peer-process";
import { runGuideSteps, writeGuideFiles } from "../../../examples/test/getting-started.js";
import { withNodeHeaders } from "../../../scripts/node-headers.mjs";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "replic-packed-"));
const tarballs: string[] = [];
const allTarballs = new Map<string, string>(); // package dir name -> tarball
afterAll(() => rmSync(work, { recursive: true, force: true }));

// An install that downloads every package: minutes on a busy machine. One that compiles
// better-sqlite3 as well (the CLI's, from an empty store): up to 8 minutes measured on two busy
// cores.
const INSTALL_MS = 300_000;
const NATIVE_INSTALL_MS = 900_000;

/**
 * Runs a command to its end and resolves with its stdout; rejects on a non-zero exit or after
 * `timeout` ms. Asynchronous on purpose: a worker blocked for minutes in spawnSync misses
 * vitest's RPC deadline, and vitest then fails the run with no failed test.
 */
function run(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<string> {
  const env = withNodeHeaders({ ...process.env, npm_config_audit: "false", npm_config_fund: "false" });
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(" ")} could not start in ${cwd}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(stdout);
      const why = signal ? `killed (${signal}) after ${timeout} ms` : `exit code ${code}`;
      reject(new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${why}\n${stdout}\n${stderr}`));
    });
  });
}

beforeAll(async () => {
  // The release flow's dry run packs and checks every public package (scripts/release.mjs).
  const dest = join(work, "tarballs");
  mkdirSync(dest);
  const out = await run(process.execPath, [join(root, "scripts", "release.mjs"), "--dry-run", "--out", dest], root, INSTALL_MS);
  const published = readdirSync(join(root, "packages")).filter(
    (d) => !JSON.parse(readFileSync(join(root, "packages", d, "package.json"), "utf8")).private,
  );
  expect(out).toContain(`release check: ${published.length} packages ready`);
  for (const f of readdirSync(dest)) allTarballs.set(f.replace(/^replic-(.*)-\d+\.\d+\.\d+\.tgz$/, "$1"), join(dest, f));
  const wanted = ["core", "adapter-bun", "adapter-wasm", "transport-ws"].map((p) => `replic-${p}-`);
  for (const f of readdirSync(dest)) if (wanted.some((w) => f.startsWith(w))) tarballs.push(join(dest, f));
  expect(tarballs).toHaveLength(4);
}, INSTALL_MS + 10_000);

/** The guide's files and the steps of its section 5 (examples/test/getting-started.ts). */
async function runGuide(app: string, server: "node" | "bun"): Promise<void> {
  writeGuideFiles(app);
  await runGuideSteps(app, server === "node" ? [process.execPath, "server.mjs"] : [BUN, "server.ts"]);
}

describe("packed tarballs outside the workspace", () => {
  it("npm only: npm init, npm install, then the getting-started steps with the Node server and client", async () => {
    const app = join(work, "npm-app");
    mkdirSync(app);
    await run("npm", ["init", "-y"], app);
    // The guide's `npm install @replic/adapter-wasm @replic/transport-ws node-sqlite3-wasm`, from the tarballs.
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs.filter((t) => !/adapter-bun/.test(t)), "node-sqlite3-wasm@0.8.60"], app, INSTALL_MS);
    for (const f of ["LICENSE", "README.md", "package.json"]) readFileSync(join(app, "node_modules", "@replic", "transport-ws", f));
    await runGuide(app, "node");
  }, INSTALL_MS + 120_000);

  it("install with pnpm and run the same steps (Node server)", async () => {
    const app = join(work, "pnpm-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pnpm-app", private: true, type: "module" }));
    const pnpm = join(root, "node_modules", "pnpm", "bin", "pnpm.cjs");
    await run(process.execPath, [pnpm, "add", "--prefer-offline", ...tarballs, "node-sqlite3-wasm@0.8.60"], app, INSTALL_MS);
    await runGuide(app, "node");
  }, INSTALL_MS + 120_000);

  it("install with bun add and run the same steps with the Bun server (server.ts)", async () => {
    const app = join(work, "bun-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "bun-app", private: true, type: "module" }));
    await run(BUN, ["add", ...tarballs, "node-sqlite3-wasm@0.8.60"], app, INSTALL_MS);
    await runGuide(app, "bun");
  }, INSTALL_MS + 120_000);

  it("installs the CLI with pnpm next to the app's better-sqlite3 (one native copy) and runs `npx replic` (help, and init-table on a real database)", async () => {
    const app = join(work, "cli-app");
    mkdirSync(app);
    // Until they are published, the CLI's @replic dependencies resolve to their tarballs (what the
    // registry would serve). The app has its own better-sqlite3, the workspace's version (so a
    // warm store already holds its build); the CLI's range must take that one, not a second copy.
    const names = ["core", "adapter-node", "adapter-bun", "snapshot-s3", "metrics-http", "cli"];
    const overrides = Object.fromEntries(names.map((n) => [`@replic/${n}`, `file:${allTarballs.get(n)}`]));
    expect(Object.values(overrides).every((v) => v.endsWith(".tgz"))).toBe(true);
    const sqliteVersion = (createRequire(import.meta.url)("better-sqlite3/package.json") as { version: string }).version;
    const manifest = { name: "cli-app", private: true, type: "module", dependencies: { "better-sqlite3": sqliteVersion }, pnpm: { overrides } };
    writeFileSync(join(app, "package.json"), JSON.stringify(manifest));
    const pnpm = join(root, "node_modules", "pnpm", "bin", "pnpm.cjs");
    await run(process.execPath, [pnpm, "add", "--prefer-offline", allTarballs.get("cli")!], app, NATIVE_INSTALL_MS);
    const sqliteCopies = readdirSync(join(app, "node_modules", ".pnpm")).filter((d) => d.startsWith("better-sqlite3@"));
    expect(sqliteCopies).toEqual([`better-sqlite3@${sqliteVersion}`]);
    const help = await run("npx", ["replic", "--help"], app);
    for (const command of ["init-table", "status", "snapshot", "restore", "metrics", "verify"]) expect(help).toContain(command);

    const file = join(app, "app.db");
    const db = new Database(file);
    db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT)");
    db.close();
    expect(await run("npx", ["replic", "init-table", "app.db", "todos", "--apply"], app)).toContain('CREATE TABLE "todos_patches"');
    const check = new Database(file, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
    check.close();
    expect(tables.map((t) => t.name)).toEqual(["todos", "todos_patches"]);
  }, NATIVE_INSTALL_MS + 60_000);
});
