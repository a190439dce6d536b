import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDriver } from "../src/driver";
import type { SqliteDriver } from "@replic/core";

const MAX = Number.MAX_SAFE_INTEGER;

let db: Database.Database;
let d: SqliteDriver;

beforeEach(() => {
  db = new Database(":memory:");
  d = createDriver(db);
  d.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v); CREATE TABLE n(id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)");
});
afterEach(() => {
  d.release?.();
  if (db.open) db.close();
});

/** Stores `value` in an untyped column and reads it back, with its SQLite type. */
function roundTrip(value: unknown): [unknown, string] {
  d.prepare("DELETE FROM t").run([]);
  expect(d.prepare("INSERT INTO t(id, v) VALUES (1, ?)").run([value as never])).toBe(1);
  return d.prepare("SELECT v, typeof(v) FROM t WHERE id = 1").get([]) as [unknown, string];
}

describe("better-sqlite3 driver", () => {
  it("has a name and runs several statements with exec", () => {
    expect(d.name).toBe("better-sqlite3");
    d.exec("CREATE TABLE a(x); CREATE TABLE b(y); INSERT INTO a VALUES (1)");
    expect(d.prepare("SELECT count(*) FROM a").get([])).toEqual([1]);
  });

  it("run returns the number of changed rows", () => {
    const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
    expect(ins.run([1, "a"])).toBe(1);
    expect(ins.run([2, "b"])).toBe(1);
    expect(ins.run([3, "c"])).toBe(1);
    expect(d.prepare("UPDATE t SET v = ? WHERE id >= ?").run(["z", 2])).toBe(2);
    const up = d.prepare("INSERT INTO t(id, v) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET v = excluded.v");
    expect(up.run([1, "x"])).toBe(1);
    expect(up.run([9, "y"])).toBe(1);
    expect(d.prepare("DELETE FROM t WHERE id > ?").run([100])).toBe(0);
    expect(d.prepare("DELETE FROM t").run([])).toBe(4);
  });

  it("get and all return arrays in SELECT order", () => {
    expect(d.prepare("SELECT 3 AS c, 1 AS a, 2 AS b").get([])).toEqual([3, 1, 2]);
    expect(d.prepare("SELECT 1 AS x, 2 AS x").get([])).toEqual([1, 2]);
    expect(d.prepare(`SELECT 'a' AS b, 5 AS "0", 6 AS "1"`).get([])).toEqual(["a", 5, 6]);
    const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
    for (let i = 1; i <= 3; i++) ins.run([i, `v${i}`]);
    expect(d.prepare("SELECT v, id FROM t ORDER BY id DESC").all([])).toEqual([
      ["v3", 3],
      ["v2", 2],
      ["v1", 1],
    ]);
    expect(d.prepare("SELECT v, id FROM t WHERE id > ? ORDER BY id").get([1])).toEqual(["v2", 2]);
    expect(d.prepare("SELECT v FROM t WHERE id = ?").get([42])).toBeUndefined();
    expect(d.prepare("SELECT v FROM t WHERE id = ?").all([42])).toEqual([]);
    const row = d.prepare("SELECT id FROM t WHERE id = 1").get([]);
    expect(Array.isArray(row)).toBe(true);
  });

  it("returns integers exactly: number when safe, bigint beyond", () => {
    for (const n of [0, -1, 1, MAX, -MAX, 2 ** 31, -(2 ** 31) - 1]) {
      expect(roundTrip(n)).toEqual([n, "integer"]);
      expect(roundTrip(BigInt(n))).toEqual([n, "integer"]);
      expect(typeof roundTrip(BigInt(n))[0]).toBe("number");
    }
    for (const b of [2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n), -(2n ** 63n), 2n ** 63n - 1n]) {
      const [v, type] = roundTrip(b);
      expect(type).toBe("integer");
      expect(typeof v).toBe("bigint");
      expect(v).toBe(b);
    }
    expect(d.prepare("SELECT 9223372036854775807, -9223372036854775808, 9007199254740991, 9007199254740992").get([])).toEqual([
      2n ** 63n - 1n,
      -(2n ** 63n),
      MAX,
      2n ** 53n,
    ]);
    // integer columns, several rows, through all()
    const ins = d.prepare("INSERT INTO n(id, i) VALUES (?, ?)");
    ins.run([1, 7]);
    ins.run([2, 2n ** 62n]);
    expect(d.prepare("SELECT id, i FROM n ORDER BY id").all([])).toEqual([
      [1, 7],
      [2, 2n ** 62n],
    ]);
  });

  it("binds a number as INTEGER exactly when it is a safe integer, REAL otherwise", () => {
    expect(roundTrip(1)).toEqual([1, "integer"]);
    expect(roundTrip(-0)).toEqual([0, "integer"]);
    expect(roundTrip(0.5)).toEqual([0.5, "real"]);
    expect(roundTrip(2 ** 53)).toEqual([2 ** 53, "real"]);
    expect(roundTrip(1e308)).toEqual([1e308, "real"]);
    // same text in a TEXT column whatever the binding (better-sqlite3 alone would store '3.0')
    d.prepare("INSERT INTO n(id, s) VALUES (1, ?)").run([3]);
    expect(d.prepare("SELECT s FROM n WHERE id = 1").get([])).toEqual(["3"]);
  });

  it("rejects a bigint outside the 64-bit range", () => {
    expect(() => roundTrip(2n ** 63n)).toThrow();
    expect(() => roundTrip(-(2n ** 63n) - 1n)).toThrow();
  });

  it("round-trips floats exactly", () => {
    for (const f of [0.1, -1.5, 1e308, -1e308, 5e-324, Math.PI, 1 / 3]) {
      expect(roundTrip(f)).toEqual([f, "real"]);
    }
    d.prepare("INSERT INTO n(id, r) VALUES (1, ?)").run([0.1]);
    expect(d.prepare("SELECT r FROM n").get([])).toEqual([0.1]);
  });

  it("round-trips text, including emoji and non-Latin scripts", () => {
    for (const s of ["", "plain", "hé😀", "日本語テキスト", "🏳️‍🌈 flag", "x".repeat(100_000)]) {
      expect(roundTrip(s)).toEqual([s, "text"]);
    }
  });

  it("stores text with U+0000 exactly", () => {
    expect(roundTrip("a\u0000b")).toEqual(["a\u0000b", "text"]);
    expect(d.prepare("SELECT hex(v) FROM t").get([])).toEqual(["610062"]);
  });

  it("stores an unpaired surrogate as U+FFFD, like TextEncoder", () => {
    roundTrip("x\uD800y");
    expect(d.prepare("SELECT hex(v) FROM t").get([])).toEqual(["78EFBFBD79"]);
    roundTrip("\uDC00");
    expect(d.prepare("SELECT hex(v) FROM t").get([])).toEqual(["EFBFBD"]);
  });

  it("round-trips blobs as Uint8Array, including the empty blob", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const cases: Uint8Array[] = [new Uint8Array([1, 2, 3]), new Uint8Array(0), all, Buffer.from([5, 0, 5])];
    for (const b of cases) {
      const [v, type] = roundTrip(b);
      expect(type).toBe("blob");
      expect(v).toBeInstanceOf(Uint8Array);
      expect(Array.from(v as Uint8Array)).toEqual(Array.from(b));
    }
    // a view into a larger buffer binds only its own bytes
    const [v] = roundTrip(new Uint8Array([9, 8, 7, 6]).subarray(1, 3));
    expect(Array.from(v as Uint8Array)).toEqual([8, 7]);
  });

  it("round-trips NULL", () => {
    expect(roundTrip(null)).toEqual([null, "null"]);
    expect(d.prepare("SELECT NULL, ?").get([null])).toEqual([null, null]);
  });

  it("get/all on a statement that returns no rows run it and return nothing", () => {
    expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?)").get([1, "a"])).toBeUndefined();
    expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?)").all([2, "b"])).toEqual([]);
    expect(d.prepare("SELECT count(*) FROM t").get([])).toEqual([2]);
  });

  it("run works on statements that return rows, and leaves none active", () => {
    d.prepare("INSERT INTO t(id, v) VALUES (1, 'a'), (2, 'b')").run([]);
    d.prepare("SELECT * FROM t").run([]);
    expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?) RETURNING id").run([3, "c"])).toBe(1);
    expect(d.prepare("SELECT id FROM t ORDER BY id").get([])).toEqual([1]);
    d.exec("DROP TABLE t"); // would fail with "database table is locked" if a read were pending
  });

  it("propagates SQLite errors and stays usable after them", () => {
    const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
    ins.run([1, "a"]);
    expect(() => ins.run([1, "dup"])).toThrow(/UNIQUE/);
    expect(ins.run([2, "b"])).toBe(1);
    expect(() => d.prepare("SELEC nonsense")).toThrow();
    // a statement that fails while stepping is usable again right after
    const abs = d.prepare("SELECT abs(?)");
    expect(() => abs.get([-(2n ** 63n)])).toThrow(/overflow/);
    expect(abs.get([-5])).toEqual([5]);
    expect(() => abs.all([-(2n ** 63n)])).toThrow(/overflow/);
    expect(abs.all([-6])).toEqual([[6]]);
    expect(() => abs.run([-(2n ** 63n)])).toThrow(/overflow/);
    expect(abs.get([-7])).toEqual([7]);
  });

  it("works inside transactions driven through exec", () => {
    const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
    d.exec("BEGIN");
    ins.run([1, "a"]);
    d.exec("ROLLBACK");
    d.exec("BEGIN");
    ins.run([2, "b"]);
    d.exec("COMMIT");
    expect(d.prepare("SELECT id FROM t").all([])).toEqual([[2]]);
  });

  it("release() leaves the caller's database open and usable", () => {
    const sel = d.prepare("SELECT count(*) FROM t");
    d.prepare("INSERT INTO t(id, v) VALUES (1, 'a')").run([]);
    expect(sel.get([])).toEqual([1]);
    d.release?.();
    expect(db.open).toBe(true);
    expect(db.prepare("SELECT count(*) AS c FROM t").get()).toEqual({ c: 1 });
    db.exec("INSERT INTO t(id, v) VALUES (2, 'b')");
    // the driver can prepare again after release
    expect(d.prepare("SELECT count(*) FROM t").get([])).toEqual([2]);
    d.release?.();
    d.release?.();
    expect(db.open).toBe(true);
  });

  it("does not change the caller's own statements or database defaults", () => {
    const mine = db.prepare("SELECT 1 AS one");
    d.prepare("SELECT 1 AS one").get([]);
    expect(mine.get()).toEqual({ one: 1 });
    expect(db.prepare("SELECT 2 AS two").get()).toEqual({ two: 2 });
  });
});
