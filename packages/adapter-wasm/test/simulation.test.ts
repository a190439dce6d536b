// A few seeds of the core's network simulator (crash-restarts included) on node-sqlite3-wasm files
// (rollback journal: it has no WAL). A crashed peer's statements are finalized and its handle
// closed, which rolls its open transaction back, as the pager would after a process crash; the
// peer then comes back through recoverAfterCrash, as an application would. REPLIC_ADAPTER_SIM_SEEDS sets how many.
import { Database } from "node-sqlite3-wasm";
import { describe, expect, it } from "vitest";
import { releasingBinding } from "../../core/test/sim";
import { simulationRuns } from "../../core/test/sim-check";
import { simulateGroups } from "../../core/test/group-sim";
import { simulateParking } from "../../core/test/parking-sim";
import * as adapter from "../src/index";

const SEEDS = Number(process.env.REPLIC_ADAPTER_SIM_SEEDS ?? 4);

const binding = releasingBinding(
  "node-sqlite3-wasm",
  "replic-sim-wasm-",
  (file) => {
    adapter.recoverAfterCrash(file);
    const db = new Database(file);
    return { driver: adapter.createDriver(db), db };
  },
  (driver, options) => adapter.createReplica(driver as adapter.SqliteDriver, options),
);

describe("network simulation on node-sqlite3-wasm", () => {
  it(`converges to the model on ${SEEDS} seeds with crash-restarts`, () => {
    expect(simulationRuns(binding, 1, SEEDS)).toBeGreaterThan(0);
  }, 300_000);
});

describe("group patches simulated on node-sqlite3-wasm", () => {
  // One test per seed: a long synchronous run must not starve the test runner's own messages.
  for (let seed = 1; seed <= 1; seed++) {
    it(`seed ${seed}: multi-table transactions stay whole after every receive and restart; replicas converge`, () => {
      expect(simulateGroups(binding, seed, 120).transactions).toBeGreaterThan(0);
    }, 300_000);
  }
});

describe("parking simulated on node-sqlite3-wasm", () => {
  // Rows that break NOT NULL, CHECK, UNIQUE or a foreign key wait, parked; replicas end alike and as the model says.
  for (let seed = 1; seed <= 1; seed++) {
    it(`seed ${seed}: same rows and parked rows everywhere, as the model says; foreign keys hold after every receive`, () => {
      expect(simulateParking(binding, seed, 100).writes).toBeGreaterThan(0);
    }, 300_000);
  }
});
