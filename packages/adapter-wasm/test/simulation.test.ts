// A few seeds of the core's network simulator (crash-restarts included) on node-sqlite3-wasm files
// (rollback journal: it has no WAL). A crashed peer's statements are finalized and its handle
// closed, which rolls its open transaction back, as the pager would after a process crash; the
// peer then comes back through recoverAfterCrash, as an application would. REPLIC_ADAPTER_SIM_SEEDS sets how many.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "node-sqlite3-wasm";
import { describe, expect, it } from "vitest";
import type { SimBinding } from "../../core/test/sim";
import { simulationRuns } from "../../core/test/sim-check";
import * as adapter from "../src/index";

const SEEDS = Number(process.env.REPLIC_ADAPTER_SIM_SEEDS ?? 4);

const binding: SimBinding = {
  name: "node-sqlite3-wasm",
  open(file) {
    adapter.recoverAfterCrash(file);
    const db = new Database(file);
    const driver = adapter.createDriver(db);
    return {
      driver,
      close: () => {
        driver.release?.();
        db.close();
      },
    };
  },
  createReplica: (driver, options) => adapter.createReplica(driver as adapter.SqliteDriver, options),
  tempDir() {
    const path = mkdtempSync(join(tmpdir(), "replic-sim-wasm-"));
    return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
  },
};

describe("network simulation on node-sqlite3-wasm", () => {
  it(`converges to the model on ${SEEDS} seeds with crash-restarts`, () => {
    expect(simulationRuns(binding, 1, SEEDS)).toBeGreaterThan(0);
  }, 300_000);
});
