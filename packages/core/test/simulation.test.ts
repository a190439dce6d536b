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

describe("network simulation across schema versions", () => {
  const seeds = Number(process.env.REPLIC_SIM_SCHEMA_SEEDS ?? 100);
  it(`peers on mixed schema versions, migrating forward and back at random (with crash-restarts), converge to the model on ${seeds} seeds`, () => {
    let migrated = 0;
    for (let seed = FIRST; seed < FIRST + seeds; seed++) {
      const res = simulate({ seed, schemas: true, binding: betterSqliteSim });
      const label = `schema seed ${seed} (${res.n} peers, ${res.topology}, ${res.writes} writes, ${res.migrations} migrations, ${res.crashes} crashes, ${res.rounds} heal rounds)`;
      expectConverged(res, label);
      for (const s of res.statuses) expect(s.alienPatches, label).toEqual([]);
      migrated += res.migrations;
    }
    expect(migrated).toBeGreaterThan(seeds);
  }, 600_000);
});
