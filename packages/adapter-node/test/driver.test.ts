/**
 * Driver contract on better-sqlite3: the shared checks live in @replic/conformance
 * (`defineDriverContract`); this file keeps only what is specific to better-sqlite3.
 */
import Database from "better-sqlite3";
import { defineDriverContract } from "@replic/conformance";
import { describe, expect, it } from "vitest";
import { createDriver } from "../src/driver";
import { openReplica, patchesDdl } from "../src/index";

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

describe("better-sqlite3 driver: the numeric hint", () => {
  // A hinted parameter binds as the number it is (REAL to better-sqlite3); the column's affinity
  // must then store exactly what the bigint binding stores: same storage class, same value.
  const values = [0, -0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 51 + 1, 3.6e15 + 3, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, -2.25];
  const stored = (db: Database.Database) =>
    db.prepare("SELECT k, typeof(i), i, typeof(n), n, typeof(r), r, typeof(u), u FROM t ORDER BY k").raw(true).safeIntegers(true).all() as unknown[][];

  it("stores in INTEGER, NUMERIC and REAL columns exactly what the bigint binding stores; untyped columns keep the conversion", () => {
    const runs = [undefined, [true, true, true, true, false]].map((numeric) => {
      const db = new Database(":memory:");
      db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, i INTEGER, n NUMERIC, r REAL, u)");
      const d = createDriver(db);
      const insert = d.prepare("INSERT INTO t (k, i, n, r, u) VALUES (?, ?, ?, ?, ?)", numeric);
      values.forEach((v, k) => insert.run([k + 1, Number.isInteger(v) ? v : 7, v, v, v]));
      const rows = stored(db);
      db.close();
      return rows;
    });
    expect(runs[1]).toEqual(runs[0]);
    // And that is what the rule says: integers are INTEGER except in the REAL column.
    expect(runs[0].map((r) => [r[1], r[3], r[5], r[7]])).toEqual(
      values.map((v) => (Number.isInteger(v) ? ["integer", "integer", "real", "integer"] : ["integer", "real", "real", "real"])),
    );
  });

  it("a replica's rows and patch rows keep their storage classes (untyped column, REAL column, reserved columns)", () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, u, r REAL, q INTEGER)");
    db.exec(patchesDdl(db, "t"));
    const replica = openReplica(db, { peerId: 7, heartbeatMs: 0 });
    try {
      replica.upsert("t", { id: 1, u: 2 ** 53 - 1, r: 5, q: 3.6e15 + 3 });
      replica.upsertMany("t", [{ id: 2, u: 2, r: 6, q: 4 }]);
      const classes = (sql: string) => db.prepare(sql).raw(true).all();
      expect(classes("SELECT typeof(id), typeof(u), typeof(r), typeof(q) FROM t ORDER BY id")).toEqual([
        ["integer", "integer", "real", "integer"],
        ["integer", "integer", "real", "integer"],
      ]);
      expect(
        classes(`SELECT typeof(id), typeof(u), typeof(r), typeof(q), typeof("_patchedAt"), typeof("_sequenceId"), typeof("_peerId") FROM t_patches ORDER BY id`),
      ).toEqual([
        ["integer", "integer", "real", "integer", "integer", "integer", "integer"],
        ["integer", "integer", "real", "integer", "integer", "integer", "integer"],
      ]);
    } finally {
      replica.close();
      db.close();
    }
  });
});
