// Runs a script under Deno 2, from the `deno` npm package (its binary comes from the platform
// package @deno/<os>-<arch>; the package that runs the test depends on `deno`), resolving every
// import from this repository's node_modules: no download, no registry, a fresh DENO_DIR, and
// permissions no wider than a replica needs: read the repository and its data directory, write
// the data directory, loopback sockets. (Deno grants /proc only with --allow-all: there the
// owner record of a node-sqlite3-wasm file is judged by its flock instead.)
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Launcher } from "./peer-process.js";

/**
 * The Deno executable itself (not the npm shim, so a SIGKILL reaches Deno), resolved from `from`
 * (the calling test's import.meta.url: its package depends on `deno`).
 */
export function denoBinary(from: string): string {
  const require = createRequire(from);
  const pkg = dirname(require.resolve("deno/package.json"));
  const copied = join(pkg, process.platform === "win32" ? "deno.exe" : "deno");
  if (existsSync(copied)) return copied;
  return (require(join(pkg, "install_api.cjs")) as { runInstall(): string }).runInstall();
}

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * `deno <command>` (run, test) with narrow permissions: reads the repository and `dataDir`,
 * writes `dataDir`, and (with `net`) opens loopback sockets.
 */
export function denoLauncher(from: string, dataDir: string, options: { command?: "run" | "test"; net?: boolean } = {}): Launcher {
  return {
    cmd: denoBinary(from),
    args: [
      options.command ?? "run",
      "--node-modules-dir=manual", // the repository's node_modules, as installed by pnpm
      "--cached-only",
      "--no-lock",
      "--no-prompt",
      `--allow-read=${REPO},${dataDir}`,
      `--allow-write=${dataDir}`,
      ...(options.net ? ["--allow-net=127.0.0.1", "--allow-env=WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE"] : []), // env: read by `ws` at load
    ],
    env: {
      ...process.env,
      DENO_DIR: join(dataDir, "deno-dir"),
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      // Any attempt to reach a registry fails at once instead of downloading.
      NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    },
  };
}
