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
  // No source maps: the output is unminified ES2022 that keeps every name, so stack traces and
  // debuggers already read as the source; maps with their sources would be two thirds of every
  // tarball (docs/operations.md, "What an install brings").
  sourcemap: false,
  target: "es2022",
};
