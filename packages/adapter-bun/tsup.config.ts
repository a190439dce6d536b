import { defineConfig } from "tsup";
import { tsupBase } from "../../tsup.base";

export default defineConfig({
  ...tsupBase,
  // The adapter only imports bun:sqlite as a type; keep it external should that ever change.
  external: ["bun:sqlite"],
});
