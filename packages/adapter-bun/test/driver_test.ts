/**
 * Driver contract on bun:sqlite. Run with `bun test` (named *_test.ts so that vitest, which
 * only picks *.test.ts / *.spec.ts, never loads it under Node). bun test maps "vitest" imports
 * onto bun:test. The shared checks live in @replic/conformance (`defineDriverContract`); this
 * file keeps only what is specific to bun:sqlite.
 */
import { Database } from "bun:sqlite";
import { defineDriverContract } from "@replic/conformance";
import { describe, expect, it } from "vitest";
import { createDriver } from "../src/driver";

function isOpen(db: Database): boolean {
  try {
    db.prepare("SELECT 1").finalize();
    return true;
  } catch {
    return false;
  }
}

/** The single value of a row read through bun:sqlite (a bigint on a safeIntegers database). */
function single(row: unknown): number {
  return Number(Object.values(row as object)[0]);
}

const variants: Array<[string, () => Database]> = [
  ["default options", () => new Database(":memory:")],
  ["strict + safeIntegers database", () => new Database(":memory:", { strict: true, safeIntegers: true })],
];

for (const [label, open] of variants) {
  defineDriverContract({
    name: `bun:sqlite driver (${label})`,
    driverName: "bun:sqlite",
    open() {
      const db = open();
      return {
        driver: createDriver(db),
        close: () => db.close(), // bun:sqlite's close() is idempotent
        isOpen: () => isOpen(db),
        exec: (sql) => db.exec(sql),
        queryValue: (sql) => single(db.query(sql).get()),
        callerStatements: (sql) => {
          const mine = db.prepare(sql);
          const cached = db.query(sql); // bun:sqlite's per-database statement cache
          return [{ read: () => single(mine.get()) }, { read: () => single(cached.get()) }];
        },
      };
    },
    // bun:sqlite alone wraps a bigint outside int64 (2^64 lands as 0); it also binds -0 as REAL
    // -0.0, which the contract's INTEGER binding check covers
    bigintRangeError: RangeError,
    textWithNul: "store",
    releaseFinalizes: /finalized/,
  });

  describe(`bun:sqlite driver (${label}): the caller's integer mode`, () => {
    it("does not change the caller's statements or the database's integer mode", () => {
      const db = open();
      const d = createDriver(db);
      try {
        const mine = db.query("SELECT 1 AS one");
        d.prepare("SELECT 1 AS one").get([]);
        const one = (mine.get() as { one: unknown }).one;
        expect(typeof one).toBe(label.includes("safeIntegers") ? "bigint" : "number");
      } finally {
        d.release?.();
        db.close();
      }
    });
  });
}
