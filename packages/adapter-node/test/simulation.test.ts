// A few seeds of the core's network simulator (crash-restarts included) on this adapter's driver,
// better-sqlite3 files in WAL mode with synchronous=NORMAL. REPLIC_ADAPTER_SIM_SEEDS sets how many.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SimBinding } from "../../core/test/sim";
import { simulationRuns } from "../../core/test/sim-check";
import { simulateGroups } from "../../core/test/group-sim";
import { simulateParking } from "../../core/test/parking-sim";
import * as adapter from "../src/index";

const SEEDS = Number(process.env.REPLIC_ADAPTER_SIM_SEEDS ?? 4);

const binding: SimBinding = {
  name: "better-sqlite3 (adapter)",
  open(file) {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    return { driver: adapter.createDriver(db), close: () => db.close() };
  },
  createReplica: (driver, options) => adapter.createReplica(driver as adapter.SqliteDriver, options),
  tempDir() {
    const path = mkdtempSync(join(tmpdir(), "replic-sim-node-"));
    return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
  },
};

describe("network simulation on better-sqlite3", () => {
  it(`converges to the model on ${SEEDS} seeds with crash-restarts`, () => {
    expect(simulationRuns(binding, 1, SEEDS)).toBeGreaterThan(0);
  }, 300_000);
});

describe("group patches simulated on better-sqlite3", () => {
  // One test per seed: a long synchronous run must not starve the test runner's own messages.
  for (let seed = 1; seed <= Math.max(1, Math.ceil(SEEDS / 2)); seed++) {
    it(`seed ${seed}: multi-table transactions stay whole after every receive and restart; replicas converge`, () => {
      expect(simulateGroups(binding, seed, 250).transactions).toBeGreaterThan(0);
    }, 300_000);
  }
});

describe("parking simulated on better-sqlite3", () => {
  // Rows that break NOT NULL, CHECK, UNIQUE or a foreign key wait, parked; replicas end alike and as the model says.
  for (let seed = 1; seed <= Math.max(1, Math.ceil(SEEDS / 2)); seed++) {
    it(`seed ${seed}: same rows and parked rows everywhere, as the model says; foreign keys hold after every receive`, () => {
      expect(simulateParking(binding, seed, 250).writes).toBeGreaterThan(0);
    }, 300_000);
  }
});
