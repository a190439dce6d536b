/**
 * The `SqliteDriver` contract, checked against every binding: one suite instead of a near copy
 * per adapter. Each adapter's driver test file calls `defineDriverContract()` once per binding
 * (or binding mode) and keeps only the checks that are specific to that binding.
 *
 *   defineDriverContract({
 *     name: "better-sqlite3 driver",
 *     driverName: "better-sqlite3",
 *     open: () => { const db = new Database(":memory:"); return { driver: createDriver(db), ... }; },
 *     bigintRangeError: RangeError,
 *     textWithNul: "store",
 *     releaseFinalizes: false,
 *   });
 *
 * The cases themselves are in driver-contract-cases.ts (no test runner there: the Durable Object
 * binding runs them inside its object, in workerd). This file gives each one a test.
 *
 * Imports describe/it/expect from "vitest": `bun test` maps them onto bun:test.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { caseContext, CONTRACT_TABLES, driverContractCases, type CaseContext, type DriverContractForm, type DriverFixture } from "./driver-contract-cases.js";

export interface DriverContractOptions extends DriverContractForm {
  /** Label of the describe block, e.g. "better-sqlite3 driver". */
  name: string;
  /** Called before every test; the fixture is released and closed after it. */
  open(): DriverFixture;
}

export function defineDriverContract(o: DriverContractOptions): void {
  describe(o.name, () => {
    let fx: DriverFixture;
    let c: CaseContext;

    beforeEach(() => {
      fx = o.open();
      fx.driver.exec(CONTRACT_TABLES);
      c = caseContext(fx, expect);
    });
    afterEach(() => {
      fx.driver.release?.();
      fx.close();
    });

    for (const k of driverContractCases(o)) it(k.name, () => k.run(c));
  });
}
