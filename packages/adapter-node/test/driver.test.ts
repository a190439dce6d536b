/**
 * Driver contract on better-sqlite3: the shared checks live in @replic/conformance
 * (`defineDriverContract`); this file keeps only what is specific to better-sqlite3.
 */
import Database from "better-sqlite3";
import { defineDriverContract } from "@replic/conformance";
import { describe, expect, it } from "vitest";
import { createDriver } from "../src/driver";

defineDriverContract({
  name: "better-sqlite3 driver",
  driverName: "better-sqlite3",
  open() {
    const db = new Database(":memory:");
    return {
      driver: createDriver(db),
      close: () => {
        if (db.open) db.close();
      },
      isOpen: () => db.open,
      exec: (sql) => db.exec(sql),
      queryValue: (sql) => db.prepare(sql).pluck().get(),
      callerStatements: (sql) => {
        const mine = db.prepare(sql);
        return [{ read: () => Object.values(mine.get() as object)[0] }];
      },
    };
  },
  bigintRangeError: RangeError,
  textWithNul: "store",
  // better-sqlite3 has no explicit finalize: the driver holds no statements to release
  releaseFinalizes: false,
});

describe("better-sqlite3 driver: the caller's statements", () => {
  it("does not change the caller's own statements or database defaults (raw/safeIntegers are per statement)", () => {
    const db = new Database(":memory:");
    const d = createDriver(db);
    try {
      const mine = db.prepare("SELECT 1 AS one");
      d.prepare("SELECT 1 AS one").get([]);
      expect(mine.get()).toEqual({ one: 1 });
      expect(db.prepare("SELECT 2 AS two").get()).toEqual({ two: 2 });
    } finally {
      d.release?.();
      db.close();
    }
  });
});
