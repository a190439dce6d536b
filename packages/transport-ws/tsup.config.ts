import { defineConfig } from "tsup";
import { tsupBase } from "../../tsup.base";

// Two entries: index (Node and Bun: server and client) and browser (client only, no Node imports).
export default defineConfig({ ...tsupBase, entry: ["src/index.ts", "src/browser.ts"], external: ["ws"] });
