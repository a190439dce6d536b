import { defineConfig } from "vitest/config";

// Each file starts its own workerd; files run one after the other (2 cores shared).
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false } });
