// The demo app: index.html + src/main.ts on the page, src/worker.ts holds the replica.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { sqliteWasm, transportWsInBrowser } from "./vite.replic";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  logLevel: "warn",
  resolve: { alias: transportWsInBrowser },
  ...sqliteWasm,
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
  build: { target: "es2022", emptyOutDir: true, outDir: process.env.REPLIC_DEMO_OUT ?? "dist" },
});
