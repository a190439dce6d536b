// A few seeds of the core's network simulator (crash-restarts included) on bun:sqlite files in WAL
// mode with synchronous=NORMAL. Run with `bun test`. REPLIC_ADAPTER_SIM_SEEDS sets how many.
import { Database } from "bun:sqlite";
import { describe, expect, it } from "vitest";
import { releasingBinding } from "../../core/test/sim";
import { simulationRuns } from "../../core/test/sim-check";
import { simulateGroups } from "../../core/test/group-sim";
import { simulateParking } from "../../core/test/parking-sim";
import * as adapter from "../src/index";

const SEEDS = Number(process.env.REPLIC_ADAPTER_SIM_SEEDS ?? 4);

const binding = releasingBinding(
  "bun:sqlite",
  "replic-sim-bun-",
  (file) => {
    const db = new Database(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    return { driver: adapter.createDriver(db), db };
  },
  (driver, options) => adapter.createReplica(driver as adapter.SqliteDriver, options),
);

describe("network simulation on bun:sqlite", () => {
  it(`converges to the model on ${SEEDS} seeds with crash-restarts`, () => {
    expect(simulationRuns(binding, 1, SEEDS)).toBeGreaterThan(0);
  }, 300_000);
});

describe("group patches simulated on bun:sqlite", () => {
  // One test per seed: a long synchronous run must not starve the test runner's own messages.
  for (let seed = 1; seed <= Math.max(1, Math.ceil(SEEDS / 2)); seed++) {
    it(`seed ${seed}: multi-table transactions stay whole after every receive and restart; replicas converge`, () => {
      expect(simulateGroups(binding, seed, 250).transactions).toBeGreaterThan(0);
    }, 300_000);
  }
});

describe("parking simulated on bun:sqlite", () => {
  // Rows that break NOT NULL, CHECK, UNIQUE or a foreign key wait, parked; replicas end alike and as the model says.
  for (let seed = 1; seed <= Math.max(1, Math.ceil(SEEDS / 2)); seed++) {
    it(`seed ${seed}: same rows and parked rows everywhere, as the model says; foreign keys hold after every receive`, () => {
      expect(simulateParking(binding, seed, 250).writes).toBeGreaterThan(0);
    }, 300_000);
  }
});
