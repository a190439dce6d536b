import { defineConfig } from "vitest/config";

export default defineConfig({
  // test/bun runs under `bun test` (Bun.serve, bun:sqlite).
  test: { exclude: ["test/bun/**", "node_modules/**"] },
});
