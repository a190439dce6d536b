/**
 * The Vite settings a replic browser app needs; the demo and the test pages use exactly these.
 * - Workers as ES modules: the replica's worker imports @sqlite.org/sqlite-wasm, an ES module.
 * - @sqlite.org/sqlite-wasm left out of dependency pre-bundling, so its
 *   `new URL("sqlite3.wasm", import.meta.url)` keeps pointing next to the module: Vite serves the
 *   .wasm in dev and emits it as an asset of the build, from the app's own origin.
 * - No COOP/COEP headers: the opfs-sahpool VFS needs no SharedArrayBuffer (the "opfs" VFS and
 *   its async proxy worker would), so nothing else on the page has to be CORP-clean.
 * - @replic/transport-ws's client is written for Node (`ws`, node:crypto): `transportWsInBrowser`
 *   maps those imports onto the browser's WebSocket and crypto.getRandomValues (./shims).
 */
import { fileURLToPath } from "node:url";
import type { UserConfig } from "vite";

const shim = (name: string) => fileURLToPath(new URL(`./shims/${name}.ts`, import.meta.url));

export const sqliteWasm = {
  worker: { format: "es" },
  optimizeDeps: { exclude: ["@sqlite.org/sqlite-wasm"] },
} satisfies UserConfig;

export const transportWsInBrowser: { find: RegExp; replacement: string }[] = [
  { find: /^ws$/, replacement: shim("ws") },
  { find: /^(node:)?crypto$/, replacement: shim("node-crypto") },
  { find: /^(node:)?http$/, replacement: shim("node-http") },
];
