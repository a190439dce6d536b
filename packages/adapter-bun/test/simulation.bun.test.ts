// A few seeds of the core's network simulator (crash-restarts included) on bun:sqlite files in WAL
// mode with synchronous=NORMAL. Run with `bun test`. REPLIC_ADAPTER_SIM_SEEDS sets how many.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SimBinding } from "../../core/test/sim";
import { simulationRuns } from "../../core/test/sim-check";
import * as adapter from "../src/index";

const SEEDS = Number(process.env.REPLIC_ADAPTER_SIM_SEEDS ?? 4);

const binding: SimBinding = {
  name: "bun:sqlite",
  open(file) {
    const db = new Database(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    const driver = adapter.createDriver(db);
    // bun:sqlite closes lazily while statements live (sqlite3_close_v2): the abandoned replica's
    // statements are finalized first, as a dying process would free them, so the open
    // transaction is rolled back now.
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
    const path = mkdtempSync(join(tmpdir(), "replic-sim-bun-"));
    return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
  },
};

describe("network simulation on bun:sqlite", () => {
  it(`converges to the model on ${SEEDS} seeds with crash-restarts`, () => {
    expect(simulationRuns(binding, 1, SEEDS)).toBeGreaterThan(0);
  }, 300_000);
});
