// Errors thrown by one copy of the package (CJS, require) are recognised by the other (ESM, import):
// `instanceof` cannot see across copies, `isReplicError` and `code` can.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

describe("dual package", () => {
  it("isReplicError recognises errors of the CJS build from the ESM build and back", async () => {
    const cjs = createRequire(import.meta.url)("../dist/index.cjs") as unknown as typeof import("../src/index.js");
    const esmEntry = new URL("../dist/index.js", import.meta.url).href; // built by the test task's build step
    const esm = (await import(/* @vite-ignore */ esmEntry)) as typeof import("../src/index.js");
    expect(cjs.ReplicError).not.toBe(esm.ReplicError);
    const fromCjs = new cjs.ValidationError("TYPE_MISMATCH", "x");
    const fromEsm = new esm.IdentityConflictError(1, "y");
    expect(fromCjs instanceof esm.ReplicError).toBe(false);
    expect(esm.isReplicError(fromCjs)).toBe(true);
    expect(cjs.isReplicError(fromEsm)).toBe(true);
    expect(esm.isReplicError(new Error("plain"))).toBe(false);
    expect(esm.isReplicError({ code: "TYPE_MISMATCH" })).toBe(false);
    expect((fromCjs as { code: string }).code).toBe("TYPE_MISMATCH");
  });
});
