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

// Seeds run in chunks of 10, one test each: a single synchronous test of a minute or more keeps
// the worker from answering the runner (vitest's "Timeout calling onTaskUpdate" on a busy machine).
const CHUNK = 10;
const chunks = (n: number) => Array.from({ length: Math.ceil(n / CHUNK) }, (_, i) => [FIRST + i * CHUNK, Math.min(CHUNK, n - i * CHUNK)] as const);

describe("network simulation", () => {
  let crashes = 0;
  for (const [first, count] of chunks(SEEDS)) {
    it(`converges to the model on seeded hostile runs with crash-restarts: seeds ${first}..${first + count - 1}`, () => {
      crashes += simulationRuns(betterSqliteSim, first, count);
    }, 600_000);
  }
  if (SEEDS >= 20) it(`peers crashed between statements across the ${SEEDS} seeds`, () => expect(crashes).toBeGreaterThan(SEEDS));

  it("covers every topology with 7 peers", () => {
    for (const topology of ["mesh", "hub", "line", "hybrid"] as const) {
      expectConverged(simulate({ seed: 4242, peers: 7, topology, binding: betterSqliteSim }), topology);
    }
  }, 120_000);
});

// Heartbeats carry only changed heads by default (every 3,600th is full). The same runs with full
// heartbeats only (as before heads deltas), and with deltas and no periodic full heartbeat at all,
// so the digest and heads requests alone must repair every lost, duplicated or reordered delta.
describe("network simulation: heartbeat forms", () => {
  const seeds = Number(process.env.REPLIC_SIM_FORM_SEEDS ?? 20);
  for (const [name, options] of [
    ["full heartbeats only", { fullHeartbeatEvery: 1 }],
    ["deltas without the periodic full heartbeat", { fullHeartbeatEvery: 1_000_000 }],
  ] as const) {
    for (const [first, count] of chunks(seeds)) {
      it(`converges to the model with ${name}: seeds ${first}..${first + count - 1}`, () => {
        simulationRuns(betterSqliteSim, first, count, options);
      }, 600_000);
    }
  }
});

describe("network simulation across schema versions", () => {
  const seeds = Number(process.env.REPLIC_SIM_SCHEMA_SEEDS ?? 100);
  let migrated = 0;
  for (const [first, count] of chunks(seeds)) {
    it(`peers on mixed schema versions, migrating forward and back at random (with crash-restarts), converge to the model: seeds ${first}..${first + count - 1}`, () => {
      for (let seed = first; seed < first + count; seed++) {
        const res = simulate({ seed, schemas: true, binding: betterSqliteSim });
        const label = `schema seed ${seed} (${res.n} peers, ${res.topology}, ${res.writes} writes, ${res.migrations} migrations, ${res.crashes} crashes, ${res.rounds} heal rounds)`;
        expectConverged(res, label);
        for (const s of res.statuses) expect(s.alienPatches, label).toEqual([]);
        migrated += res.migrations;
      }
    }, 600_000);
  }
  it(`migrations happened across the ${seeds} seeds`, () => expect(migrated).toBeGreaterThan(seeds));
});
