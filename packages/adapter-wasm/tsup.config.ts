import { defineConfig } from "tsup";
import { tsupBase } from "../../tsup.base";

export default defineConfig([
  // Node (and bundlers that want everything): ESM + CJS; shims give the CJS build an
  // import.meta.url (openDatabase resolves node-sqlite3-wasm from this package's location).
  { ...tsupBase, shims: true },
  // Browser entry: ESM only, platform "browser", so no Node-only module can slip in.
  { ...tsupBase, entry: ["src/browser.ts"], format: ["esm"], platform: "browser", clean: false },
]);
