// The core's tests: everything under test/, never a mutation run's sandbox copy (.stryker-tmp/);
// the event loop turns between tests (test/yield-between-tests.ts).
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: { exclude: [...configDefaults.exclude, ".stryker-tmp/**"], setupFiles: ["test/yield-between-tests.ts"] },
});
