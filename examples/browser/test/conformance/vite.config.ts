// Builds the canonical-history page (test fixture, not part of the demo).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { sqliteWasm } from "../../vite.replic";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  logLevel: "warn",
  resolve: { alias: { "node:crypto": fileURLToPath(new URL("./crypto-shim.ts", import.meta.url)) } },
  ...sqliteWasm,
  build: { target: "es2022", emptyOutDir: true, outDir: fileURLToPath(new URL("../../.build/conformance", import.meta.url)) },
});
