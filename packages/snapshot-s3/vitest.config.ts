import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // test/bun runs under `bun test` (bun:sqlite).
    exclude: ["test/bun/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
