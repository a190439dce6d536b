// A few seeds of the core's network simulator (crash-restarts included) on this adapter's driver,
// better-sqlite3 files in WAL mode with synchronous=NORMAL. REPLIC_ADAPTER_SIM_SEEDS sets how many.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SimBinding } from "../../core/test/sim";
import { simulationRuns } from "../../core/test/sim-check";
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
