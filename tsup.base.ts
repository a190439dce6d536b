/**
 * tsup options shared by every package in packages/*: each package's tsup.config.ts spreads
 * them into `defineConfig()` and adds only what is its own (adapter-bun: `external`).
 * Plain data, typed structurally, so this file needs no tsup install at the repository root.
 */
export const tsupBase = {
  entry: ["src/index.ts"],
  format: ["esm", "cjs"] as Array<"esm" | "cjs">,
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
};
