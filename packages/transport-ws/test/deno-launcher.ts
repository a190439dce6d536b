// Runs a peer script under Deno 2, from the `deno` npm package (its binary comes from the
// platform package @deno/<os>-<arch>), resolving every import from this repository's
// node_modules: no download, no registry, a fresh DENO_DIR, and permissions no wider than a peer
// needs (its files, /proc for the liveness check of crash recovery, loopback sockets).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Launcher } from "@replic/conformance/peer-process";

const require = createRequire(import.meta.url);

/** The Deno executable itself (not the npm shim, so a SIGKILL reaches Deno). */
export function denoBinary(): string {
  const pkg = dirname(require.resolve("deno/package.json"));
  const copied = join(pkg, process.platform === "win32" ? "deno.exe" : "deno");
  if (existsSync(copied)) return copied;
  return (require(join(pkg, "install_api.cjs")) as { runInstall(): string }).runInstall();
}

const REPO = fileURLToPath(new URL("../../..", import.meta.url));

/** `deno run` with narrow permissions: reads the repository and `dataDir`, writes `dataDir`. */
export function denoLauncher(dataDir: string): Launcher {
  return {
    cmd: denoBinary(),
    args: [
      "run",
      "--node-modules-dir=manual", // the repository's node_modules, as installed by pnpm
      "--cached-only",
      "--no-lock",
      "--no-prompt",
      `--allow-read=${REPO},${dataDir},/proc`,
      `--allow-write=${dataDir}`,
      "--allow-net=127.0.0.1",
      "--allow-env=WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE", // read by `ws` at load
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
