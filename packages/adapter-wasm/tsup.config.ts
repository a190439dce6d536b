import { defineConfig } from "tsup";
import { tsupBase } from "../../tsup.base";

export default defineConfig([
  // Node (and bundlers that want everything): ESM + CJS.
  { ...tsupBase },
  // Browser entry: ESM only, platform "browser", so no Node-only module can slip in.
  { ...tsupBase, entry: ["src/browser.ts"], format: ["esm"], platform: "browser", clean: false },
]);
