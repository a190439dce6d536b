/**
 * The cases of the `SqliteDriver` contract (driver-contract.ts runs them under vitest and bun
 * test), kept free of any test runner so that they also run where the driver lives in a runtime of
 * its own: a Durable Object's storage is reached synchronously only inside the object, in workerd.
 *
 * The binding rules checked here are the ones every adapter promises (see each driver's header):
 * a number binds as INTEGER exactly when it is a safe integer (`-0` included), REAL otherwise;
 * a bigint binds as INTEGER and one outside int64 is refused; integers read back exact (number
 * when safe, bigint beyond); text is UTF-8 with unpaired surrogates stored as U+FFFD; blobs come
 * back as Uint8Array; rows are arrays in SELECT order; no statement stays active.
 */
import { ValidationError } from "@replic/core";
import type { SqliteDriver } from "@replic/core";

const MAX = Number.MAX_SAFE_INTEGER;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** A driver over a fresh in-memory database, plus a few calls on the caller's own handle. */
export interface DriverFixture {
  driver: SqliteDriver;
  /** Closes the caller's database. Must do nothing when it is already closed. */
  close(): void;
  /** Whether the caller's database is still open. */
  isOpen(): boolean;
  /** Runs SQL through the binding's own API (not through the driver). */
  exec(sql: string): void;
  /**
   * Runs a one-row, one-column query through the binding's own API and returns that value as
   * the binding reads it (converted to a number only where the caller's database reads
   * integers as bigint, like bun:sqlite with safeIntegers).
   */
  queryValue(sql: string): unknown;
  /**
   * Optional: statements prepared now through the binding's own API (as a caller would hold
   * them); `read()` runs one and returns its single value, as for `queryValue`. The contract
   * checks that the driver's `release()` leaves them working.
   */
  callerStatements?(sql: string): Array<{ read(): unknown; finalize?(): void }>;
}

/** What the binding does: the cases, and the form some of them take, follow from it. */
export interface DriverContractForm {
  /** The expected `driver.name`. */
  driverName: string;
  /** Error class thrown when binding a bigint outside int64 (`Error`: any error). */
  bigintRangeError: ErrorClass;
  /**
   * Text containing U+0000: "store" it exactly, or "reject" it with a ValidationError naming
   * U+0000 and write nothing (bindings that would cut it short on write or read).
   */
  textWithNul: "store" | "reject";
  /**
   * What `release()` does to the driver's statements: finalizes them (a later use throws; a
   * RegExp also checks the message), or `false`: holds none (better-sqlite3 cannot finalize).
   */
  releaseFinalizes: RegExp | boolean;
  /**
   * Rows come keyed by column name (node-sqlite3-wasm's public API): two columns with the same
   * name, or integer-like names, cannot be read in SELECT order. Skips those checks.
   */
  rowsKeyedByName?: boolean;
  /**
   * `run()` on a statement that returns rows leaves it active (node-sqlite3-wasm's public API).
   * Skips the checks that run() such statements and then need the table unlocked.
   */
  runLeavesReadersActive?: boolean;
  /** The driver has no `columns()` (node-sqlite3-wasm's public API cannot name columns). */
  noColumnNames?: boolean;
  /**
   * The binding refuses BEGIN, COMMIT and SAVEPOINT (a Durable Object's storage): `exec` of them
   * throws an error matching this, and the driver's `transaction(fn)` runs a transaction instead.
   * Absent: transactions are driven through `exec`.
   */
  transactionStatementsRefused?: RegExp;
  /**
   * Nothing compiles before a statement first runs (a Durable Object's storage): `prepare()` of
   * bad SQL succeeds and its first run throws an error matching this. Absent: `prepare()` throws.
   */
  badSqlFailsOnRun?: RegExp;
  /**
   * `columns()` names the columns of the statement's last run and is empty before the first
   * (names known only from a cursor, as on a Durable Object's storage).
   */
  columnsAfterRun?: boolean;
  /**
   * The caller's database has no close (a Durable Object's storage): the fixture's `close()` does
   * nothing. The case about release() after a close then checks that release() leaves it usable.
   */
  noClose?: boolean;
}

/**
 * The assertions the cases make, in vitest's words: vitest's and bun:test's `expect` fit it, and
 * a runtime without either (workerd) passes its own.
 */
export interface ContractAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeUndefined(): void;
  toBeInstanceOf(expected: ErrorClass | typeof Uint8Array): void;
  /** Throws; an instance of the class, or a message matching the RegExp, when given. */
  toThrow(expected?: ErrorClass | RegExp): void;
  not: { toThrow(): void };
}
export type ContractExpect = (actual: unknown) => ContractAssertion;

/** What a case runs against: the fixture (tables t and n created) and the assertions. */
export interface CaseContext {
  fx: DriverFixture;
  d: SqliteDriver;
  expect: ContractExpect;
  /** Stores `value` in an untyped column and reads it back, with its SQLite type. */
  roundTrip(value: unknown): [unknown, string];
}

export interface DriverContractCase {
  name: string;
  run(c: CaseContext): void;
}

/** Run on the fresh database before every case. */
export const CONTRACT_TABLES =
  "CREATE TABLE t(id INTEGER PRIMARY KEY, v); CREATE TABLE n(id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)";

/** The context of one case on a fixture whose tables exist. */
export function caseContext(fx: DriverFixture, expect: ContractExpect): CaseContext {
  const d = fx.driver;
  return {
    fx,
    d,
    expect,
    roundTrip(value) {
      d.prepare("DELETE FROM t").run([]);
      expect(d.prepare("INSERT INTO t(id, v) VALUES (1, ?)").run([value as never])).toBe(1);
      return d.prepare("SELECT v, typeof(v) FROM t WHERE id = 1").get([]) as [unknown, string];
    },
  };
}

/**
 * Runs one case as `defineDriverContract` does under a test runner: a fresh fixture, the tables,
 * the case, then release() and close() whatever happened.
 */
export function runDriverContractCase(c: DriverContractCase, open: () => DriverFixture, expect: ContractExpect): void {
  const fx = open();
  try {
    fx.driver.exec(CONTRACT_TABLES);
    c.run(caseContext(fx, expect));
  } finally {
    fx.driver.release?.();
    fx.close();
  }
}

/** The cases for a binding of this form, in order; each expects a fresh database. */
export function driverContractCases(o: DriverContractForm): DriverContractCase[] {
  const cases: DriverContractCase[] = [];
  const add = (name: string, run: DriverContractCase["run"]) => void cases.push({ name, run });

  add("has a name and runs several statements with exec", ({ d, expect }) => {
    expect(d.name).toBe(o.driverName);
    d.exec("CREATE TABLE a(x); CREATE TABLE b(y); INSERT INTO a VALUES (1)");
    expect(d.prepare("SELECT count(*) FROM a").get([])).toEqual([1]);
  });

  add("run returns the number of changed rows", ({ d, expect }) => {
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

  add("run returns changes as a number", ({ d, expect }) => {
    const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
    expect(typeof ins.run([1, "a"])).toBe("number");
    expect(typeof d.prepare("SELECT 1").run([])).toBe("number");
  });

  add("get and all return arrays in SELECT order", ({ d, expect }) => {
    expect(d.prepare("SELECT 3 AS c, 1 AS a, 2 AS b").get([])).toEqual([3, 1, 2]);
    if (!o.rowsKeyedByName) {
      // rows keyed by column name cannot do these two: a duplicate name, integer-like names
      expect(d.prepare("SELECT 1 AS x, 2 AS x").get([])).toEqual([1, 2]);
      expect(d.prepare(`SELECT 'a' AS b, 5 AS "0", 6 AS "1"`).get([])).toEqual(["a", 5, 6]);
      expect(d.prepare(`SELECT 'a' AS b, 5 AS "0", 6 AS "1"`).all([])).toEqual([["a", 5, 6]]);
    }
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

  if (o.columnsAfterRun) {
    add("columns() names the result columns of the last run in SELECT order, none before a run or for a statement without results", ({ d, expect }) => {
      const sel = d.prepare(`SELECT v, id AS "the key", 5 AS "0" FROM t`);
      expect(sel.columns!()).toEqual([]);
      expect(sel.all([])).toEqual([]); // no rows: the names are known all the same
      expect(sel.columns!()).toEqual(["v", "the key", "0"]);
      const star = d.prepare("SELECT * FROM n");
      expect(star.get([])).toBeUndefined();
      expect(star.columns!()).toEqual(["id", "i", "r", "s", "b"]);
      const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
      expect(ins.run([1, "a"])).toBe(1);
      expect(ins.columns!()).toEqual([]);
    });
  } else {
    add("columns() names the result columns in SELECT order, none for a statement without results", ({ d, expect }) => {
      if (o.noColumnNames) return void expect(d.prepare("SELECT 1 AS a").columns).toBeUndefined();
      expect(d.prepare(`SELECT v, id AS "the key", 5 AS "0" FROM t`).columns!()).toEqual(["v", "the key", "0"]);
      expect(d.prepare("SELECT * FROM n").columns!()).toEqual(["id", "i", "r", "s", "b"]);
      expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?)").columns!()).toEqual([]);
    });
  }

  add("returns integers exactly: number when safe, bigint beyond", ({ d, expect, roundTrip }) => {
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
    expect(
      d.prepare("SELECT 9223372036854775807, -9223372036854775808, 9007199254740991, 9007199254740992").get([]),
    ).toEqual([2n ** 63n - 1n, -(2n ** 63n), MAX, 2n ** 53n]);
    // integer columns, several rows, through all()
    const ins = d.prepare("INSERT INTO n(id, i) VALUES (?, ?)");
    ins.run([1, 7]);
    ins.run([2, 2n ** 62n]);
    expect(d.prepare("SELECT id, i FROM n ORDER BY id").all([])).toEqual([
      [1, 7],
      [2, 2n ** 62n],
    ]);
  });

  add("binds a number as INTEGER exactly when it is a safe integer, REAL otherwise", ({ d, expect, roundTrip }) => {
    expect(roundTrip(1)).toEqual([1, "integer"]);
    // bun:sqlite alone binds -0 as REAL -0.0
    expect(roundTrip(-0)).toEqual([0, "integer"]);
    expect(roundTrip(0.5)).toEqual([0.5, "real"]);
    expect(roundTrip(2 ** 53)).toEqual([2 ** 53, "real"]);
    expect(roundTrip(1e308)).toEqual([1e308, "real"]);
    // same text in a TEXT column whatever the binding (better-sqlite3 alone binds every number
    // as REAL, so it would store '3.0')
    d.prepare("INSERT INTO n(id, s) VALUES (1, ?)").run([3]);
    expect(d.prepare("SELECT s FROM n WHERE id = 1").get([])).toEqual(["3"]);
  });

  add("rejects a bigint outside the 64-bit range (bun:sqlite and node-sqlite3-wasm alone would wrap it)", ({ d, expect, roundTrip }) => {
    expect(() => roundTrip(2n ** 63n)).toThrow(o.bigintRangeError);
    expect(() => roundTrip(2n ** 64n)).toThrow(o.bigintRangeError);
    expect(() => roundTrip(-(2n ** 63n) - 1n)).toThrow(o.bigintRangeError);
    expect(() => d.prepare("SELECT ?").get([2n ** 64n])).toThrow(o.bigintRangeError);
  });

  add("round-trips floats exactly", ({ d, expect, roundTrip }) => {
    for (const f of [0.1, -1.5, 1e308, -1e308, 5e-324, Math.PI, 1 / 3]) {
      expect(roundTrip(f)).toEqual([f, "real"]);
    }
    d.prepare("INSERT INTO n(id, r) VALUES (1, ?)").run([0.1]);
    expect(d.prepare("SELECT r FROM n").get([])).toEqual([0.1]);
  });

  add("round-trips text, including emoji and non-Latin scripts", ({ expect, roundTrip }) => {
    for (const s of ["", "plain", "hé😀", "日本語テキスト", "🏳️‍🌈 flag", "x".repeat(100_000)]) {
      expect(roundTrip(s)).toEqual([s, "text"]);
    }
  });

  if (o.textWithNul === "store") {
    add("stores text with U+0000 exactly", ({ d, expect, roundTrip }) => {
      expect(roundTrip("a\u0000b")).toEqual(["a\u0000b", "text"]);
      expect(d.prepare("SELECT hex(v) FROM t").get([])).toEqual(["610062"]);
    });
  } else {
    add("rejects text with U+0000, which the binding would cut short, and writes nothing", ({ d, expect, roundTrip }) => {
      expect(() => roundTrip("a\u0000b")).toThrow(ValidationError);
      expect(() => roundTrip("a\u0000b")).toThrow(/U\+0000/);
      expect(() => d.prepare("SELECT ?").get(["\u0000"])).toThrow(ValidationError);
      expect(d.prepare("SELECT count(*) FROM t").get([])).toEqual([0]);
    });
  }

  add("stores an unpaired surrogate as U+FFFD, like TextEncoder", ({ d, expect, roundTrip }) => {
    expect(roundTrip("x\uD800y")).toEqual(["x\uFFFDy", "text"]);
    expect(d.prepare("SELECT hex(v) FROM t").get([])).toEqual(["78EFBFBD79"]);
    expect(roundTrip("\uDC00")).toEqual(["\uFFFD", "text"]);
    expect(d.prepare("SELECT hex(v) FROM t").get([])).toEqual(["EFBFBD"]);
    // a well-formed surrogate pair is kept
    expect(roundTrip("ok 😀")).toEqual(["ok 😀", "text"]);
  });

  add("round-trips blobs as Uint8Array, including the empty blob", ({ expect, roundTrip }) => {
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

  add("round-trips NULL", ({ d, expect, roundTrip }) => {
    expect(roundTrip(null)).toEqual([null, "null"]);
    expect(d.prepare("SELECT NULL, ?").get([null])).toEqual([null, null]);
  });

  add("get/all on a statement that returns no rows run it and return nothing", ({ d, expect }) => {
    expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?)").get([1, "a"])).toBeUndefined();
    expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?)").all([2, "b"])).toEqual([]);
    expect(d.prepare("SELECT count(*) FROM t").get([])).toEqual([2]);
  });

  add("leaves no statement active after get/all/run, run included on statements that return rows", ({ d, expect }) => {
    d.prepare("INSERT INTO t(id, v) VALUES (1, 'a'), (2, 'b')").run([]);
    expect(d.prepare("SELECT id FROM t ORDER BY id").get([])).toEqual([1]);
    if (!o.runLeavesReadersActive) d.prepare("SELECT * FROM t").run([]);
    expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?) RETURNING id").all([3, "c"])).toEqual([[3]]);
    if (!o.runLeavesReadersActive) {
      expect(d.prepare("INSERT INTO t(id, v) VALUES (?, ?) RETURNING id").run([4, "d"])).toBe(1);
    }
    expect(d.prepare("SELECT id FROM t ORDER BY id").get([])).toEqual([1]);
    d.exec("DROP TABLE t"); // fails with "database table is locked" if a read is pending
  });

  add("propagates SQLite errors and stays usable after them", ({ d, expect }) => {
    const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
    ins.run([1, "a"]);
    expect(() => ins.run([1, "dup"])).toThrow(/UNIQUE/);
    expect(ins.run([2, "b"])).toBe(1);
    const sel = d.prepare("SELECT v FROM t WHERE id = ?");
    expect(sel.get([2])).toEqual(["b"]);
    if (o.badSqlFailsOnRun) {
      // nothing compiles before the first run: the error comes from each run instead
      const bad = d.prepare("SELEC nonsense");
      expect(() => bad.run([])).toThrow(o.badSqlFailsOnRun);
      expect(() => bad.get([])).toThrow(o.badSqlFailsOnRun);
      expect(() => bad.all([])).toThrow(o.badSqlFailsOnRun);
    } else {
      expect(() => d.prepare("SELEC nonsense")).toThrow();
    }
    // a statement that fails while stepping is usable again right after
    const abs = d.prepare("SELECT abs(?)");
    expect(() => abs.get([-(2n ** 63n)])).toThrow(/overflow/);
    expect(abs.get([-5])).toEqual([5]);
    expect(() => abs.all([-(2n ** 63n)])).toThrow(/overflow/);
    expect(abs.all([-6])).toEqual([[6]]);
    expect(() => abs.run([-(2n ** 63n)])).toThrow(/overflow/);
    expect(abs.get([-7])).toEqual([7]);
  });

  const refused = o.transactionStatementsRefused;
  if (refused) {
    add("works inside transactions run by the driver's transaction(), BEGIN, COMMIT and SAVEPOINT refused", ({ d, expect }) => {
      const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
      expect(() => d.exec("BEGIN")).toThrow(refused);
      expect(() => d.exec("COMMIT")).toThrow(refused);
      expect(() => d.exec("SAVEPOINT s")).toThrow(refused);
      expect(typeof d.transaction).toBe("function");
      // the same two transactions as through exec: one rolled back (by a throw), one committed
        expect(() =>
        d.transaction!(() => {
          ins.run([1, "a"]);
          throw new Error("roll back");
        }),
      ).toThrow(/roll back/);
      expect(d.transaction!(() => ins.run([2, "b"]))).toBe(1);
      expect(d.prepare("SELECT id FROM t").all([])).toEqual([[2]]);
    });
  } else {
    add("works inside transactions driven through exec", ({ d, expect }) => {
      const ins = d.prepare("INSERT INTO t(id, v) VALUES (?, ?)");
      d.exec("BEGIN");
      ins.run([1, "a"]);
      d.exec("ROLLBACK");
      d.exec("BEGIN");
      ins.run([2, "b"]);
      d.exec("COMMIT");
      expect(d.prepare("SELECT id FROM t").all([])).toEqual([[2]]);
    });
  }

  add("release() finalizes what the driver holds and leaves the caller's database usable", ({ d, fx, expect }) => {
    const sel = d.prepare("SELECT count(*) FROM t");
    d.prepare("INSERT INTO t(id, v) VALUES (1, 'a')").run([]);
    expect(sel.get([])).toEqual([1]);
    const mine = fx.callerStatements?.("SELECT count(*) AS c FROM t") ?? [];
    d.release?.();
    if (o.releaseFinalizes instanceof RegExp) expect(() => sel.get([])).toThrow(o.releaseFinalizes);
    else if (o.releaseFinalizes) expect(() => sel.get([])).toThrow();
    expect(fx.isOpen()).toBe(true);
    for (const s of mine) {
      expect(s.read()).toBe(1);
      s.finalize?.();
    }
    expect(fx.queryValue("SELECT count(*) AS c FROM t")).toBe(1);
    fx.exec("INSERT INTO t(id, v) VALUES (2, 'b')");
    expect(fx.queryValue("SELECT count(*) AS c FROM t")).toBe(2);
    // the driver can prepare again after release
    expect(d.prepare("SELECT count(*) FROM t").get([])).toEqual([2]);
    d.release?.();
    d.release?.();
    expect(fx.isOpen()).toBe(true);
  });

  if (o.noClose) {
    add("release() leaves the caller's database, which has no close, open and usable", ({ d, fx, expect }) => {
      d.prepare("SELECT 1").get([]);
      fx.close(); // nothing to close: the database stays the caller's
      expect(() => d.release?.()).not.toThrow();
      expect(fx.isOpen()).toBe(true);
      expect(fx.queryValue("SELECT count(*) FROM t")).toBe(0);
      expect(d.prepare("SELECT 1").get([])).toEqual([1]);
    });
  } else {
    add("release() after the caller closed the database does not throw", ({ d, fx, expect }) => {
      d.prepare("SELECT 1").get([]);
      fx.close();
      expect(() => d.release?.()).not.toThrow();
    });
  }

  return cases;
}
