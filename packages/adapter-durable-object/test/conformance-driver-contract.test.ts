// The shared driver contract (conformance/src/driver-contract-cases.ts), the cases the Node, Bun
// and WASM bindings run, on the Durable Object driver inside workerd: each case runs in a fresh
// object against ctx.storage.sql (test/fixtures/driver-contract-object.ts) and reports here
// whether its assertions held, with the failing assertion's message. Where this platform differs
// (transactions, bad SQL, columns(), no close) the case takes the form the binding declares
// (test/fixtures/driver-contract-form.ts) and asserts what the platform does instead.
import { describe, expect, it } from "vitest";
import { driverContractCases } from "../../../conformance/src/driver-contract-cases";
import type { CaseOutcome } from "./fixtures/driver-contract-object";
import { DURABLE_OBJECT_CONTRACT } from "./fixtures/driver-contract-form";
import { workerdForFile } from "./workerd";

const workerd = workerdForFile("contract");

describe("durable-object driver (workerd)", () => {
  for (const c of driverContractCases(DURABLE_OBJECT_CONTRACT)) {
    it(c.name, async () => {
      const out = await workerd().json<CaseOutcome>(`/driver-contract?case=${encodeURIComponent(c.name)}`);
      expect(out.ran).toBe(c.name);
      if (out.failure) throw Object.assign(new Error(`in workerd: ${out.failure.message}`), { stack: `in workerd: ${out.failure.stack ?? out.failure.message}` });
    });
  }
});
