// Group patches, simulated (test/group-sim.ts): multi-table transactions over a lossy network with
// relays and deaths mid-transaction stay whole after every receive and restart. The room tests of
// the group path are test/rooms/inbound-groups.test.ts.
import { describe, expect, it } from "vitest";
import { betterSqliteSim } from "./helpers.js";
import { simulateGroups } from "./group-sim.js";

const SEEDS = Number(process.env.REPLIC_GROUP_SIM_SEEDS ?? 6);
describe("group patches", () => {
  // One test per seed: a long synchronous run must not starve the test runner's own messages.
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`simulated, seed ${seed}: multi-table transactions stay whole after every receive and restart, and replicas converge`, () => {
      const res = simulateGroups(betterSqliteSim, seed);
      expect(res.receives).toBeGreaterThan(0);
      expect(res.transactions).toBeGreaterThan(20);
      expect(res.completed).toBeGreaterThan(0);
    }, 120_000);
  }
});
