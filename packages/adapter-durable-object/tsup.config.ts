import { defineConfig } from "tsup";
import { tsupBase } from "../../tsup.base";

// ESM only: a Worker is an ES module; there is no CommonJS Durable Object.
export default defineConfig({ ...tsupBase, format: ["esm"] });
