/**
 * The core side of watch(): the driver createReplica hands the engine forwards every member of the
 * adapter's driver (optional ones included) and only notes release(); watch() refuses a source
 * that is neither a replica from createReplica nor a query source; a driver without columns()
 * reports why, through onError.
 */
import { describe, expect, it } from "vitest";
import { createReplica, isReplicError, Replica, watch, type SqliteDriver } from "../src/index.js";
import { watchableDriver } from "../src/watch.js";
import { testDriver } from "./helpers.js";

describe("the driver a replica is opened on", () => {
  it("reads every member through to the adapter's driver, called on it, and notes release()", () => {
    let released = 0;
    const inner = {
      name: "custom",
      maxParams: 7,
      calls: 0,
      exec(_sql: string) {
        this.calls++;
      },
      prepare: (_sql: string) => ({ run: () => 0, get: () => undefined, all: () => [] }),
      transaction<T>(fn: () => T): T {
        this.calls++;
        return fn();
      },
      release: () => void released++,
    };
    const { driver, reader } = watchableDriver(inner as SqliteDriver);
    const d = driver as typeof inner;
    expect(d.name).toBe("custom");
    expect(d.maxParams).toBe(7);
    d.exec("SELECT 1");
    expect(d.transaction(() => 42)).toBe(42);
    expect(inner.calls).toBe(2); // `this` is the adapter's driver
    expect(d.transaction).toBe(d.transaction); // one bound copy, not one per access
    expect(reader.released).toBe(false);
    d.release();
    expect(reader.released).toBe(true);
    expect(released).toBe(1);
  });
});

describe("watch() sources", () => {
  it("refuses what is neither a replica from createReplica nor a source with query()", () => {
    const r = new Replica(testDriver(), { heartbeatMs: 0 });
    let code: unknown;
    try {
      watch(r, "SELECT 1", () => {});
    } catch (e) {
      code = isReplicError(e) && e.code;
    }
    expect(code).toBe("INVALID_OPTION");
    r.close();
  });

  it("reports a driver without columns() through onError, naming it", async () => {
    const r = createReplica(testDriver(), { heartbeatMs: 0 });
    const errors: unknown[] = [];
    const w = watch(r, "SELECT 1 AS one", () => errors.push("delivered"), { onError: (e) => errors.push(e) });
    await w.refresh();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => isReplicError(e) && e.code === "INVALID_OPTION" && /better-sqlite3 \(test\) driver does not report column names/.test(e.message))).toBe(true);
    w.close();
    r.close();
  });
});
