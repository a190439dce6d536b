/**
 * The Vite settings a replic browser app needs; the demo and the test pages use exactly these.
 * - Workers as ES modules: the replica's worker imports @sqlite.org/sqlite-wasm, an ES module.
 * - @sqlite.org/sqlite-wasm left out of dependency pre-bundling, so its
 *   `new URL("sqlite3.wasm", import.meta.url)` keeps pointing next to the module: Vite serves the
 *   .wasm in dev and emits it as an asset of the build, from the app's own origin.
 * - No COOP/COEP headers: the opfs-sahpool VFS needs no SharedArrayBuffer (the "opfs" VFS and
 *   its async proxy worker would), so nothing else on the page has to be CORP-clean.
 * - @replic/transport-ws needs nothing: its "browser" export condition (used by Vite) gives the
 *   client on the global WebSocket with the shared-secret handshake on WebCrypto.
 */
import type { UserConfig } from "vite";

export const sqliteWasm = {
  worker: { format: "es" },
  optimizeDeps: { exclude: ["@sqlite.org/sqlite-wasm"] },
} satisfies UserConfig;
