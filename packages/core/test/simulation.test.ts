/**
 * The simulator's runs: a failing run names its seed; REPLIC_SIM_SEED=<n> REPLIC_SIM_SEEDS=1 replays it.
 * REPLIC_SIM_SEEDS sets how many seeds run (100 in CI; the nightly-sized script runs more).
 * The adapters run a few seeds each on their own binding (their test/simulation*.test.ts).
 */
import { describe, expect, it } from "vitest";
import { betterSqliteSim } from "./helpers.js";
import { simulate } from "./sim.js";
import { expectConverged, simulationRuns } from "./sim-check.js";

const SEEDS = Number(process.env.REPLIC_SIM_SEEDS ?? 100);
const FIRST = Number(process.env.REPLIC_SIM_SEED ?? 1);

describe("network simulation", () => {
  it(`converges to the model on ${SEEDS} seeded hostile runs with crash-restarts`, () => {
    const crashes = simulationRuns(betterSqliteSim, FIRST, SEEDS);
    if (SEEDS >= 20) expect(crashes, "peers crashed between statements").toBeGreaterThan(SEEDS);
  }, 600_000);

  it("covers every topology with 7 peers", () => {
    for (const topology of ["mesh", "hub", "line", "hybrid"] as const) {
      expectConverged(simulate({ seed: 4242, peers: 7, topology, binding: betterSqliteSim }), topology);
    }
  }, 120_000);
});
