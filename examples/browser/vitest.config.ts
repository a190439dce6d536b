import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // One Chromium at a time on a 2-core machine; the files share nothing else.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
