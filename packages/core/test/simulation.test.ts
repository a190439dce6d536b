/**
 * The simulator's runs: a failing run names its seed; REPLIC_SIM_SEED=<n> REPLIC_SIM_SEEDS=1 replays it.
 * REPLIC_SIM_SEEDS sets how many seeds run (100 in CI; the nightly-sized script runs more).
 */
import { describe, expect, it } from "vitest";
import { simulate } from "./sim.js";

const SEEDS = Number(process.env.REPLIC_SIM_SEEDS ?? 100);
const FIRST = Number(process.env.REPLIC_SIM_SEED ?? 1);

describe("network simulation", () => {
  it(`converges to the model on ${SEEDS} seeded hostile runs`, () => {
    for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
      const res = simulate({ seed });
      const label = `seed ${seed} (${res.n} peers, ${res.topology}, ${res.writes} writes, ${res.rounds} heal rounds)`;
      for (const d of res.dumps) expect(d, label).toBe(res.dumps[0]);
      expect(res.dumps[0], label).toBe(res.expected);
      expect(res.writes, label).toBeGreaterThan(0);
    }
  }, 600_000);

  it("covers every topology with 7 peers", () => {
    for (const topology of ["mesh", "hub", "line", "hybrid"] as const) {
      const res = simulate({ seed: 4242, peers: 7, topology });
      for (const d of res.dumps) expect(d, topology).toBe(res.expected);
    }
  }, 120_000);
});

describe("network simulation across schema versions", () => {
  const seeds = Number(process.env.REPLIC_SIM_SCHEMA_SEEDS ?? 30);
  it(`peers on mixed schema versions, migrating forward and back at random, converge to the model on ${seeds} seeds`, () => {
    let migrated = 0;
    for (let seed = FIRST; seed < FIRST + seeds; seed++) {
      const res = simulate({ seed, schemas: true });
      const label = `schema seed ${seed} (${res.n} peers, ${res.topology}, ${res.writes} writes, ${res.rounds} heal rounds)`;
      for (const d of res.dumps) expect(d, label).toBe(res.dumps[0]);
      expect(res.dumps[0], label).toBe(res.expected);
      for (const s of res.status) expect(s.alienPatches, label).toEqual([]);
      migrated += res.migrations;
    }
    expect(migrated).toBeGreaterThan(seeds);
  }, 600_000);
});
