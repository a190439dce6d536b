/**
 * SQLite's own typing (values.ts, schema.ts): a value is accepted when SQLite would store it in
 * that column. Plain tables take any storage class and convert it by the column's affinity, as
 * SQLite does; STRICT tables and the INTEGER PRIMARY KEY of a rowid table take their declared
 * type only. What a replica stores equals what SQLite stores for the same value on its own, and
 * a receiver stores the same cells as the writer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, decodeMessage, patchesDdl, type Replica, type SqlValue } from "../src/index.js";
import { affinityOf, readColumns } from "../src/schema.js";
import { numericText } from "../src/values.js";
import { testDriver } from "./helpers.js";

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

const INVOICES = `CREATE TABLE invoice (
  id INTEGER PRIMARY KEY, issued DATETIME, total NUMERIC(10,2), paid BOOLEAN, customer NVARCHAR(120), note, rate REAL, qty INT, deletedAt INTEGER);`;
const STRICT = `CREATE TABLE ledger (id TEXT PRIMARY KEY, n INTEGER, r REAL, t TEXT, b BLOB, a ANY) STRICT;`;

function replica(ddl: string, table: string, peerId: number): { r: Replica; d: ReturnType<typeof testDriver>; sent: Uint8Array[] } {
  const d = testDriver();
  d.exec(ddl);
  d.exec(patchesDdl(d, table));
  const r = createReplica(d, { peerId, heartbeatMs: 0 });
  open.push(r);
  const sent: Uint8Array[] = [];
  r.addPeer(peerId === 1 ? 2 : 1, (m) => sent.push(m));
  return { r, d, sent };
}

/** Every cell of a table as (typeof, value), read exactly. */
function cells(d: ReturnType<typeof testDriver>, table: string): string[] {
  const cols = readColumns(d, table).map((c) => `"${c.name}"`);
  const sql = `SELECT ${cols.map((c) => `typeof(${c}) || ':' || quote(${c})`).join(", ")} FROM "${table}" ORDER BY 1`;
  return d.prepare(sql).all([]).map((r) => r.join(" "));
}

/** What SQLite itself stores for these values in a fresh copy of the table (no replic). */
function nativeCells(ddl: string, table: string, rows: Record<string, SqlValue>[]): string[] {
  const d = testDriver();
  d.exec(ddl);
  for (const row of rows) {
    const names = Object.keys(row);
    d.prepare(`INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`).run(names.map((n) => row[n]!));
  }
  return cells(d, table);
}

describe("affinity of a declared type (SQLite datatype docs, 3.1)", () => {
  it("follows the rules in their order", () => {
    const cases: [string, string][] = [
      ["INT", "INTEGER"],
      ["BIGINT", "INTEGER"],
      ["FLOATING POINT", "INTEGER"], // "INT" comes first
      ["NVARCHAR(120)", "TEXT"],
      ["CLOB", "TEXT"],
      ["CHARINT", "INTEGER"],
      ["BLOB", "BLOB"],
      ["", "BLOB"],
      ["DOUBLE PRECISION", "REAL"],
      ["FLOAT", "REAL"],
      ["DATETIME", "NUMERIC"],
      ["NUMERIC(10,2)", "NUMERIC"],
      ["BOOLEAN", "NUMERIC"],
      ["STRING", "NUMERIC"],
      ["ANY", "NUMERIC"],
    ];
    for (const [declared, affinity] of cases) expect([declared, affinityOf(declared)]).toEqual([declared, affinity]);
    expect(affinityOf("ANY", true)).toBe("ANY");
    expect(affinityOf("INTEGER", true)).toBe("INTEGER");
  });
});

describe("a plain table stores what SQLite stores", () => {
  const rows: Record<string, SqlValue>[] = [
    { id: 1, issued: "2021-01-01 00:00:00", total: "12.50", paid: 1, customer: "Ana", note: "x", rate: "0.5", qty: "3" },
    { id: 2, issued: 1609459200, total: 12.5, paid: "yes", customer: 42, note: 7, rate: 2, qty: 2.5 },
    { id: 3, issued: "2021-13-45", total: " 99 ", paid: "1", customer: "007", note: new Uint8Array([0, 1]), rate: "abc", qty: "0x10" },
    { id: 4, issued: "1e3", total: "1.0", paid: 0, customer: "  12 ", note: "12", rate: "-.5e-3", qty: "12abc" },
    { id: 5, issued: new Uint8Array([9]), total: 2n ** 62n, paid: null, customer: 2n ** 63n - 1n, note: -(2n ** 63n), rate: 2 ** 60, qty: "9223372036854775808" },
    { id: 6, issued: "2024-02-29T12:00:00.000Z", total: "123456789.123", note: 0.1, rate: 1e300, qty: 2 ** 63 },
  ];

  it("accepts every storage class in DATETIME, NUMERIC(10,2), BOOLEAN, NVARCHAR, untyped columns, as SQLite does", () => {
    const a = replica(INVOICES, "invoice", 1);
    for (const row of rows) a.r.upsert("invoice", row);
    const native = nativeCells(INVOICES, "invoice", rows);
    const got = cells(a.d, "invoice");
    // Every cell where SQLite would store it, the deletedAt column untouched (NULL).
    expect(got.map((c) => c.replace(/ null:NULL$/, ""))).toEqual(native.map((c) => c.replace(/ null:NULL$/, "")));
    // Text dates stay text; decimals become REAL; numbers become text in a TEXT column.
    expect(got[0]).toContain("text:'2021-01-01 00:00:00' real:12.5 integer:1 text:'Ana' text:'x' real:0.5 integer:3");
    expect(got[1]).toContain("integer:1609459200 real:12.5 text:'yes' text:'42' integer:7 real:2.0 real:2.5");
  });

  it("a receiver stores the same cells from the writer's message", () => {
    const a = replica(INVOICES, "invoice", 1);
    const b = replica(INVOICES, "invoice", 2);
    a.r.transaction(() => {
      for (const row of rows) a.r.upsert("invoice", row);
    });
    expect(a.sent.length).toBeGreaterThan(0);
    for (const m of a.sent) b.r.receive(1, m);
    expect(cells(b.d, "invoice")).toEqual(cells(a.d, "invoice"));
    // ... and from the patch log, as a neighbour serving a gap sends it.
    const c = replica(INVOICES, "invoice", 3);
    c.r.addPeer(1, (m) => a.r.receive(3, m));
    a.r.addPeer(3, (m) => c.r.receive(1, m));
    c.r.tick();
    a.r.tick();
    c.r.tick();
    expect(cells(c.d, "invoice")).toEqual(cells(a.d, "invoice"));
  });

  it("refuses what no replica could store the same way: NaN, U+0000, beyond 64 bits, non-integer numbers in TEXT", () => {
    const a = replica(INVOICES, "invoice", 1);
    const bad: Record<string, unknown>[] = [
      { id: 1, total: Number.NaN },
      { id: 1, note: "a\u0000b" },
      { id: 1, note: 2n ** 63n },
      { id: 1, customer: 0.1 + 0.2 },
      { id: 1, customer: Number.POSITIVE_INFINITY },
      { id: 1, note: {} },
      { id: 1, note: [1] },
    ];
    for (const row of bad) expect(() => a.r.upsert("invoice", row), JSON.stringify(row, (_, v) => (typeof v === "bigint" ? String(v) : v))).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", table: "invoice" }));
    expect(cells(a.d, "invoice")).toEqual([]);
    expect(a.r.upsert("invoice", { id: 1, customer: 3 })).toBe("1.1"); // an integer's text is the same everywhere
  });

  it("the INTEGER PRIMARY KEY (the rowid) takes integers only; other key columns follow their affinity", () => {
    const a = replica(INVOICES, "invoice", 1);
    expect(() => a.r.upsert("invoice", { id: "7" })).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", column: "id" }));
    expect(() => a.r.upsert("invoice", { id: 1.5 })).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", column: "id" }));
    const pairs = `CREATE TABLE pairs (a INTEGER, b TEXT, v, PRIMARY KEY (a, b));`;
    const p = replica(pairs, "pairs", 1);
    p.r.upsert("pairs", { a: "12", b: 5, v: 1 });
    p.r.upsert("pairs", { a: 12, b: "5", v: 2 }); // the same row: SQLite stores 12 and '5' both times
    expect(cells(p.d, "pairs")).toEqual(["integer:12 text:'5' integer:2"]);
  });
});

describe("a STRICT table keeps its strict checks", () => {
  it("refuses a value of another type locally, writing nothing; its T_patches is STRICT too", () => {
    const a = replica(STRICT, "ledger", 1);
    expect(patchesDdl(a.d, "ledger")).toMatch(/\) WITHOUT ROWID, STRICT;/);
    const bad: Record<string, unknown>[] = [{ id: "x", n: "12" }, { id: "x", n: 1.5 }, { id: "x", r: "1.5" }, { id: "x", t: 5 }, { id: "x", b: "bytes" }, { id: 5 }];
    for (const row of bad) expect(() => a.r.upsert("ledger", row)).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH" }));
    a.r.upsert("ledger", { id: "x", n: 12, r: 1, t: "12", b: new Uint8Array([1]), a: "12" });
    // ANY keeps the text as given (a plain table's ANY column would make it 12).
    expect(cells(a.d, "ledger")).toEqual(["text:'x' integer:12 real:1.0 text:'12' blob:X'01' text:'12'"]);
    expect(cells(a.d, "ledger_patches").map((c) => c.split(" ").slice(0, 6).join(" "))).toEqual(cells(a.d, "ledger"));
  });

  it("a peer's message with a value SQLite would refuse for a STRICT column is refused whole, typed", () => {
    // The sender's table is plain; the receiver's is STRICT: the value is fine there, not here.
    const loose = STRICT.replace(" STRICT;", ";");
    const a = replica(loose, "ledger", 1);
    const b = replica(STRICT, "ledger", 2);
    a.r.transaction(() => {
      a.r.upsert("ledger", { id: "ok", n: 1 });
      a.r.upsert("ledger", { id: "bad", n: "twelve" });
    });
    expect(a.sent.length).toBe(1);
    expect(decodeMessage(a.sent[0]!).kind).toBe("patches");
    expect(() => b.r.receive(1, a.sent[0]!)).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", table: "ledger", column: "n" }));
    expect(cells(b.d, "ledger")).toEqual([]);
    expect(cells(b.d, "ledger_patches")).toEqual([]);
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toBeUndefined();
  });
});

describe("numericText: the number SQLite's numeric affinities read in a text", () => {
  it("agrees with SQLite on ordinary numbers and leaves other text alone", () => {
    const texts = ["12.50", "0.1", "-0", "-0.0", " 12 ", "\t7\n", "+3", "5.", ".5", "1e3", "1.5E+3", "1e-3", "00012", "9223372036854775807", "-9223372036854775808",
      "9223372036854775808", "1e400", "-1e400", "1e-400", "123456789.123456789", "2024", "2024-01-01", "0x10", "12abc", "1e", "1e+", ".", "", " ", "- 3", "1..2", "Infinity", "NaN", "١٢"];
    const d = testDriver();
    d.exec("CREATE TABLE t (n NUMERIC, r REAL, i INTEGER)");
    for (const s of texts) {
      d.exec("DELETE FROM t");
      d.prepare("INSERT INTO t VALUES (?, ?, ?)").run([s, s, s]);
      const native = d.prepare("SELECT typeof(n), n, typeof(r), r, typeof(i), i FROM t").get([])!;
      const v = numericText(s);
      d.exec("DELETE FROM t");
      d.prepare("INSERT INTO t VALUES (?, ?, ?)").run([v ?? s, v ?? s, v ?? s]);
      const converted = d.prepare("SELECT typeof(n), n, typeof(r), r, typeof(i), i FROM t").get([])!;
      expect([s, ...converted]).toEqual([s, ...native]);
      expect([s, v === undefined]).toEqual([s, native[0] === "text"]);
    }
  });

  it("rounds correctly where SQLite versions differ in the last bit", () => {
    // SQLite 3.51 and 3.53 read these differently; JavaScript's reading is the correctly rounded one.
    for (const s of ["-.7e-248", "-15.957418466e-245", "7.55169e-199", "1.41486e231"]) expect(numericText(s)).toBe(Number(s));
    expect(numericText("9007199254740993")).toBe(9007199254740993n);
    expect(numericText("-42")).toBe(-42);
  });
});
