// A description of the machine and software versions, for the results file.
import os from "node:os";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function pkgVersion(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {}
  try {
    // Packages whose "exports" hide package.json: walk up from the entry point.
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 5; i++, dir = dirname(dir)) {
      const p = join(dir, "package.json");
      if (existsSync(p)) {
        const pkg = JSON.parse(readFileSync(p, "utf8"));
        if (pkg.name === name) return pkg.version;
      }
    }
  } catch {}
  return null;
}

export function describeMachine(bunPath) {
  const cpus = os.cpus();
  let bunVersion = null;
  let bunSqlite = null;
  try {
    bunVersion = execFileSync(bunPath, ["--version"], { encoding: "utf8" }).trim();
    bunSqlite = execFileSync(
      bunPath,
      ["-e", 'const {Database}=require("bun:sqlite");console.log(new Database(":memory:").query("select sqlite_version() v").get().v)'],
      { encoding: "utf8" },
    ).trim();
  } catch {}
  let betterSqlite = null;
  let wasmSqlite = null;
  try {
    const D = require("better-sqlite3");
    betterSqlite = new D(":memory:").prepare("select sqlite_version() v").get().v;
  } catch {}
  try {
    const { Database } = require("node-sqlite3-wasm");
    const d = new Database(":memory:");
    wasmSqlite = d.get("select sqlite_version() v").v;
    d.close();
  } catch {}
  let osRelease = `${os.type()} ${os.release()}`;
  try {
    const m = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"));
    if (m) osRelease = `${m[1]} (${os.type()} ${os.release()})`;
  } catch {}
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    cpuMHz: cpus[0]?.speed ?? null,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: osRelease,
    arch: os.arch(),
    node: process.versions.node,
    v8: process.versions.v8,
    bun: bunVersion,
    sqlite: { "better-sqlite3": betterSqlite, "bun:sqlite": bunSqlite, "node-sqlite3-wasm": wasmSqlite },
    packages: {
      "better-sqlite3": pkgVersion("better-sqlite3"),
      "node-sqlite3-wasm": pkgVersion("node-sqlite3-wasm"),
      "@vlcn.io/crsqlite-wasm": pkgVersion("@vlcn.io/crsqlite-wasm"),
      "@vlcn.io/wa-sqlite": pkgVersion("@vlcn.io/wa-sqlite"),
      ws: pkgVersion("ws"),
    },
    loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}
