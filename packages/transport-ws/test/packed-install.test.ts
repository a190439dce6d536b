// Packages as published: the release dry run (scripts/release.mjs) packs and checks every package;
// core, adapter-bun, adapter-wasm and transport-ws are then installed from the tarballs into fresh
// projects outside the workspace — with npm, pnpm and Bun — and each runs the getting-started
// guide's files (docs/getting-started.md, taken from its code blocks as written): a Bun server and
// a Node client replicating over WebSocket. The CLI (with snapshot-s3, metrics-http and the
// adapters it depends on) is installed from its tarballs too, into an app that already has
// better-sqlite3, and runs `npx replic`.
// Installs work from an empty package store: everything comes from the npm registry, and
// better-sqlite3 then compiles against the running Node's headers (scripts/node-headers.mjs),
// which is what the CLI install's long timeout is for.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { BUN, freePort } from "@replic/conformance/peer-process";
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

/** The guide's files: each code block preceded by `<!-- file: NAME -->`. */
function guideFiles(): Record<string, string> {
  const md = readFileSync(join(root, "docs", "getting-started.md"), "utf8");
  const files: Record<string, string> = {};
  for (const m of md.matchAll(/<!-- file: (\S+) -->\n```\w+\n([\s\S]*?)```/g)) files[m[1]] = m[2];
  return files;
}

beforeAll(async () => {
  // The release flow's dry run packs and checks every public package (scripts/release.mjs).
  const dest = join(work, "tarballs");
  mkdirSync(dest);
  const out = await run(process.execPath, [join(root, "scripts", "release.mjs"), "--dry-run", "--out", dest], root, INSTALL_MS);
  expect(out).toMatch(/release check: 10 packages ready/);
  for (const f of readdirSync(dest)) allTarballs.set(f.replace(/^replic-(.*)-\d+\.\d+\.\d+\.tgz$/, "$1"), join(dest, f));
  const wanted = ["core", "adapter-bun", "adapter-wasm", "transport-ws"].map((p) => `replic-${p}-`);
  for (const f of readdirSync(dest)) if (wanted.some((w) => f.startsWith(w))) tarballs.push(join(dest, f));
  expect(tarballs).toHaveLength(4);
}, INSTALL_MS + 10_000);

async function runGuide(app: string): Promise<void> {
  const files = guideFiles();
  expect(Object.keys(files).sort()).toEqual(["client.mjs", "schema.mjs", "server.ts"]);
  for (const [name, code] of Object.entries(files)) writeFileSync(join(app, name), code);
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), REPLIC_SECRET: "guide-secret", REPLIC_URL: `ws://127.0.0.1:${port}/replic` };
  const server = spawn(BUN, ["server.ts"], { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
  let serverOut = "";
  server.stdout.on("data", (d) => (serverOut += d));
  server.stderr.on("data", (d) => (serverOut += d));
  try {
    const end = Date.now() + 15_000;
    while (!/serving ws:/.test(serverOut)) {
      if (Date.now() > end || server.exitCode !== null) throw new Error(`server did not start:\n${serverOut}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const client = spawnSync(process.execPath, ["client.mjs"], { cwd: app, env, encoding: "utf8", timeout: 20_000 });
    expect(client.status, client.stderr).toBe(0);
    expect(client.stdout).toMatch(/linked to peer \d+/);
    expect(client.stdout).toMatch(/written on Bun/);
    expect(client.stdout).toMatch(/written on Node/);
    const end2 = Date.now() + 10_000;
    while (!/todos: written on Bun, written on Node/.test(serverOut) && Date.now() < end2) await new Promise((r) => setTimeout(r, 50));
    expect(serverOut).toMatch(/todos: written on Bun, written on Node/);
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
  }
}

describe("packed tarballs outside the workspace", () => {
  it("install with npm and run the getting-started app (Bun server, Node client)", async () => {
    const app = join(work, "npm-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "npm-app", private: true, type: "module" }));
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs, "node-sqlite3-wasm@0.8.60"], app, INSTALL_MS);
    for (const f of ["LICENSE", "README.md", "package.json"]) readFileSync(join(app, "node_modules", "@replic", "transport-ws", f));
    await runGuide(app);
  }, INSTALL_MS + 60_000);

  it("install with pnpm and run the same app", async () => {
    const app = join(work, "pnpm-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pnpm-app", private: true, type: "module" }));
    const pnpm = join(root, "node_modules", "pnpm", "bin", "pnpm.cjs");
    await run(process.execPath, [pnpm, "add", "--prefer-offline", ...tarballs, "node-sqlite3-wasm@0.8.60"], app, INSTALL_MS);
    await runGuide(app);
  }, INSTALL_MS + 60_000);

  it("install with bun add and run the same app", async () => {
    const app = join(work, "bun-app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "bun-app", private: true, type: "module" }));
    await run(BUN, ["add", ...tarballs, "node-sqlite3-wasm@0.8.60"], app, INSTALL_MS);
    await runGuide(app);
  }, INSTALL_MS + 60_000);

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
