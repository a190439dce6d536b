// The core's tests: everything under test/, never a mutation run's sandbox copy (.stryker-tmp/).
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: { exclude: [...configDefaults.exclude, ".stryker-tmp/**"] },
});
