// Parking, simulated (test/parking-sim.ts): concurrent writes to a schema with NOT NULL without
// DEFAULT, foreign keys (one referencing its own table, so rows may form cycles), UNIQUE and
// CHECK over a lossy network with crash-restarts. Every replica ends with the same rows and the
// same parked rows, and both are what a plain model of the rule derives from its patches. The room tests are test/rooms/visibility.test.ts.
import { describe, expect, it } from "vitest";
import { betterSqliteSim } from "./helpers.js";
import { simulateParking } from "./parking-sim.js";

const SEEDS = Number(process.env.REPLIC_PARKING_SIM_SEEDS ?? 8);
describe("parking", () => {
  // One test per seed: a long synchronous run must not starve the test runner's own messages.
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`simulated, seed ${seed}: same rows and parked rows everywhere, as the model says; foreign keys hold after every receive`, () => {
      const res = simulateParking(betterSqliteSim, seed);
      expect(res.writes).toBeGreaterThan(20);
      expect(res.receives).toBeGreaterThan(0);
      expect(res.refused).toBeGreaterThan(0);
    }, 120_000);
  }
  it("the rule is exercised: across seeds, rows are parked along the way, and authors mentoring each other are shown", () => {
    let seen = 0;
    let cycles = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const res = simulateParking(betterSqliteSim, seed);
      seen += res.parkedSeen;
      cycles += res.cyclesSeen;
    }
    expect(seen).toBeGreaterThan(0);
    expect(cycles).toBeGreaterThan(0);
  }, 120_000);
});
