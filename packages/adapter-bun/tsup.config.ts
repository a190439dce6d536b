import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  // The adapter only imports bun:sqlite as a type; keep it external should that ever change.
  external: ["bun:sqlite"],
});
