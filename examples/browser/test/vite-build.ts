/** Builds a Vite config into its outDir, once per test file. */
import { build } from "vite";

export async function viteBuild(configFile: string): Promise<void> {
  await build({ configFile, logLevel: "warn" });
}
