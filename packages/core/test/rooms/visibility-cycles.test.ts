// Foreign-key cycles (src/valid-together.ts, through a replica): rows whose foreign keys reference
// each other (across tables, or within one table) are shown together when they are valid together,
// whatever order their patches arrive in and however they are split across messages; a cycle that
// still waits for a parent outside it stays parked, and leaves T together when that parent goes.
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, patchesDdl, type ParkedEvent, type Replica } from "../../src/index.js";
import { timestampFromMs } from "../../src/clock.js";
import { PatchesEncoder } from "../../src/wire/encoder.js";
import type { SqlValue } from "../../src/driver.js";
import { testDriver } from "../helpers.js";

const DDL = `
CREATE TABLE depts (id TEXT PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''), headId TEXT REFERENCES staff(id));
CREATE TABLE staff (id TEXT PRIMARY KEY, deptId TEXT REFERENCES depts(id), bossId TEXT REFERENCES staff(id), badge TEXT UNIQUE);`;
const COLUMNS: Record<string, string[]> = { depts: ["id", "name", "headId"], staff: ["id", "deptId", "bossId", "badge"], notes: ["id", "staffId"] };

/** The same tables with ON DELETE actions, and notes about staff. */
const CASCADING_DDL = `
CREATE TABLE depts (id TEXT PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''), headId TEXT REFERENCES staff(id) ON DELETE SET NULL);
CREATE TABLE staff (id TEXT PRIMARY KEY, deptId TEXT REFERENCES depts(id) ON DELETE CASCADE, bossId TEXT REFERENCES staff(id) ON DELETE CASCADE, badge TEXT UNIQUE);
CREATE TABLE notes (id TEXT PRIMARY KEY, staffId TEXT REFERENCES staff(id) ON DELETE CASCADE);`;

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function company(foreignKeys: boolean, ddl = DDL) {
  const d = testDriver();
  d.exec(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`);
  d.exec(ddl);
  for (const t of ["depts", "staff", "notes"]) if (ddl.includes(`TABLE ${t} `)) d.exec(patchesDdl(d, t));
  const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
  open.push(r);
  const events: ParkedEvent[] = [];
  r.on("parked", (e) => events.push(e));
  const rows = (table: string) => d.db.prepare(`SELECT * FROM ${table} ORDER BY id`).raw(true).all() as SqlValue[][];
  const state = () => ({ depts: rows("depts"), staff: rows("staff"), parked: r.parked() });
  return { d, r, events, rows, state, fkCheck: () => d.db.prepare("PRAGMA foreign_key_check").all() };
}

interface P {
  table: string;
  seq: number;
  row: Record<string, SqlValue>;
}

const T0 = Date.now() - 60_000;

/** One patches message from peer 7; a patch's sequence is also its time (ms after T0). */
function message(patches: P[]): Uint8Array {
  const e = new PatchesEncoder(256);
  const ids = new Map<string, number>();
  for (const p of patches) {
    let ti = ids.get(p.table);
    if (ti === undefined) ids.set(p.table, (ti = e.addTable(p.table, COLUMNS[p.table]!)));
    const names = COLUMNS[p.table]!;
    const cols = Object.keys(p.row)
      .map((c) => names.indexOf(c))
      .sort((a, b) => a - b);
    e.add(ti, 7, p.seq, timestampFromMs(T0 + p.seq), cols, cols.map((c) => p.row[names[c]!]!));
  }
  return e.finish();
}

const dept = (seq: number, row: Record<string, SqlValue>): P => ({ table: "depts", seq, row });
const staff = (seq: number, row: Record<string, SqlValue>): P => ({ table: "staff", seq, row });
const note = (seq: number, row: Record<string, SqlValue>): P => ({ table: "notes", seq, row });

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/**
 * Deliveries of one set of patches: one patch a message in every order (up to three patches;
 * above, every rotation forwards and backwards), all in one message, and split in two.
 */
function deliveries(patches: readonly P[]): P[][][] {
  const rotations = patches.flatMap((_, i) => [[...patches.slice(i), ...patches.slice(0, i)], [...patches.slice(i), ...patches.slice(0, i)].reverse()]);
  const orders = patches.length <= 3 ? permutations(patches) : rotations;
  const out = orders.map((order) => order.map((p) => [p]));
  out.push([[...patches]], [[...patches].reverse()]);
  for (let cut = 1; cut < patches.length; cut++) out.push([patches.slice(cut), patches.slice(0, cut)]);
  return out;
}

/** Delivers every way on a fresh replica (foreign keys enforced and not) and returns the one outcome. */
function outcome(patches: readonly P[]) {
  const seen = new Set<string>();
  let last: ReturnType<ReturnType<typeof company>["state"]> | undefined;
  for (const fk of [true, false]) {
    for (const messages of deliveries(patches)) {
      const c = company(fk);
      for (const m of messages) c.r.receive(7, message(m));
      expect(c.fkCheck()).toEqual([]);
      last = c.state();
      seen.add(JSON.stringify(last));
      c.r.close();
      open.pop();
    }
  }
  expect([...seen]).toHaveLength(1);
  return last!;
}

describe("foreign-key cycles in one batch", () => {
  it("two tables referencing each other: both rows shown, in every order and split", () => {
    const out = outcome([dept(1, { id: "d1", name: "Ops", headId: "s1" }), staff(2, { id: "s1", deptId: "d1" })]);
    expect(out).toEqual({ depts: [["d1", "Ops", "s1"]], staff: [["s1", "d1", null, null]], parked: [] });
  });

  it("a table referencing itself, two rows pointing at each other, one more hanging off them: all shown", () => {
    const out = outcome([staff(1, { id: "s2", bossId: "s3" }), staff(2, { id: "s3", bossId: "s2" }), staff(3, { id: "s4", bossId: "s3" })]);
    expect(out.staff).toEqual([
      ["s2", null, "s3", null],
      ["s3", null, "s2", null],
      ["s4", null, "s3", null],
    ]);
    expect(out.parked).toEqual([]);
  });

  it("a cycle waiting for a parent outside it stays parked whole; the parent arriving in any order shows it", () => {
    const cycle = [staff(1, { id: "s5", bossId: "s6" }), staff(2, { id: "s6", bossId: "s5", deptId: "d9" })];
    expect(outcome(cycle)).toEqual({
      depts: [],
      staff: [],
      parked: [
        { table: "staff", key: { id: "s5" }, reason: "parent-missing", detail: "staff" },
        // Its first foreign key (in SQLite's order) whose parent is not shown.
        { table: "staff", key: { id: "s6" }, reason: "parent-missing", detail: "staff" },
      ],
    });
    const out = outcome([...cycle, dept(3, { id: "d9", name: "R&D" })]);
    expect(out.staff).toEqual([
      ["s5", null, "s6", null],
      ["s6", "d9", "s5", null],
    ]);
    expect(out.parked).toEqual([]);
  });

  it("a cycle through a row that is invalid on its own stays parked: the other row waits for it", () => {
    const out = outcome([dept(1, { id: "d2", headId: "s7" }), staff(2, { id: "s7", deptId: "d2" })]);
    expect(out).toEqual({
      depts: [],
      staff: [],
      parked: [
        { table: "depts", key: { id: "d2" }, reason: "incomplete", detail: "name" },
        { table: "staff", key: { id: "s7" }, reason: "parent-missing", detail: "depts" },
      ],
    });
  });

  it("a cycle through a row that lost its unique value stays parked; the cycle of the winner is shown", () => {
    const out = outcome([
      staff(1, { id: "w1", bossId: "w2", badge: "B" }),
      staff(2, { id: "w2", bossId: "w1" }),
      staff(3, { id: "l1", bossId: "l2", badge: "B" }),
      staff(4, { id: "l2", bossId: "l1" }),
    ]);
    expect(out.staff).toEqual([
      ["w1", null, "w2", "B"],
      ["w2", null, "w1", null],
    ]);
    expect(out.parked).toEqual([
      { table: "staff", key: { id: "l1" }, reason: "unique", detail: "staff.badge" },
      { table: "staff", key: { id: "l2" }, reason: "parent-missing", detail: "staff" },
    ]);
  });

  it("a row of a cycle also waiting for a parked row outside it that is not valid stays parked, with the cycle", () => {
    // s6 needs s5 (the cycle) and d9; d9 is parked too, waiting for a head that never came.
    const out = outcome([staff(1, { id: "s5", bossId: "s6" }), staff(2, { id: "s6", bossId: "s5", deptId: "d9" }), dept(3, { id: "d9", name: "R&D", headId: "s0" })]);
    expect(out.parked.map((p) => `${p.key.id} ${p.reason}`)).toEqual(["d9 parent-missing", "s5 parent-missing", "s6 parent-missing"]);
    expect(out.staff).toEqual([]);
    // The missing head arrives: all four are shown.
    const c = company(true);
    c.r.receive(7, message([staff(1, { id: "s5", bossId: "s6" }), staff(2, { id: "s6", bossId: "s5", deptId: "d9" }), dept(3, { id: "d9", name: "R&D", headId: "s0" })]));
    c.r.receive(7, message([staff(4, { id: "s0", deptId: "d9" })]));
    expect(c.rows("staff").map((x) => x[0])).toEqual(["s0", "s5", "s6"]);
    expect(c.rows("depts")).toEqual([["d9", "R&D", "s0"]]);
    expect(c.r.parked()).toEqual([]);
    expect(c.fkCheck()).toEqual([]);
  });

  it("a row referencing a table that does not replicate waits for it like any parent", () => {
    const d = testDriver();
    d.exec("PRAGMA foreign_keys = ON");
    d.exec("CREATE TABLE sites (id TEXT PRIMARY KEY)"); // local only: no sites_patches
    d.exec("CREATE TABLE staff (id TEXT PRIMARY KEY, deptId TEXT REFERENCES sites(id), bossId TEXT REFERENCES staff(id), badge TEXT)");
    d.exec(patchesDdl(d, "staff"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    r.receive(7, message([staff(1, { id: "s1", bossId: "s2", deptId: "x" }), staff(2, { id: "s2", bossId: "s1" })]));
    expect(r.parked().map((p) => `${p.key.id} ${p.reason} ${p.detail}`)).toEqual(["s1 parent-missing staff", "s2 parent-missing staff"]);
    d.exec("INSERT INTO sites VALUES ('x')");
    r.receive(7, message([staff(3, { id: "s1", badge: "b" })]));
    expect(d.db.prepare("SELECT id FROM staff ORDER BY id").pluck().all()).toEqual(["s1", "s2"]);
    expect(r.parked()).toEqual([]);
  });

  for (const fk of [true, false]) {
    it(`a shown cycle leaves T together when its outside parent becomes invalid, and comes back with it (foreign_keys ${fk ? "ON" : "OFF"})`, () => {
      const c = company(fk);
      c.r.receive(7, message([dept(1, { id: "d9", name: "R&D" }), staff(2, { id: "s5", bossId: "s6" }), staff(3, { id: "s6", bossId: "s5", deptId: "d9" })]));
      expect(c.rows("staff").map((x) => x[0])).toEqual(["s5", "s6"]);
      expect(c.events).toEqual([]);
      c.r.receive(7, message([dept(4, { id: "d9", name: "" })]));
      expect(c.state()).toEqual({
        depts: [],
        staff: [],
        parked: [
          { table: "depts", key: { id: "d9" }, reason: "check", detail: "name <> ''" },
          { table: "staff", key: { id: "s5" }, reason: "parent-missing", detail: "staff" },
          { table: "staff", key: { id: "s6" }, reason: "parent-missing", detail: "staff" },
        ],
      });
      expect(c.fkCheck()).toEqual([]);
      c.r.receive(7, message([dept(5, { id: "d9", name: "Labs" })]));
      expect(c.rows("staff").map((x) => x[0])).toEqual(["s5", "s6"]);
      expect(c.r.parked()).toEqual([]);
      expect(c.fkCheck()).toEqual([]);
      // Each row parked once, then released once.
      const staffEvents = c.events.filter((e) => e.table === "staff").map((e) => `${e.key.id} ${e.released ? "released" : "parked"}`);
      expect(staffEvents.slice(0, 2).sort()).toEqual(["s5 parked", "s6 parked"]);
      expect(staffEvents.slice(2).sort()).toEqual(["s5 released", "s6 released"]);
      // The deferral of foreign keys ends with the release: a broken write later fails at once.
      if (fk) expect(() => c.d.db.prepare("INSERT INTO staff (id, bossId) VALUES ('x', 'nobody')").run()).toThrow(/FOREIGN KEY/);
      expect(c.d.db.prepare("PRAGMA defer_foreign_keys").pluck().get()).toBe(0);
    });
  }

  it("a cycle leaving T takes every row referencing it along, parked, not deleted by ON DELETE CASCADE or SET NULL", () => {
    const c = company(true, CASCADING_DDL);
    c.r.receive(
      7,
      message([
        dept(1, { id: "d1", name: "Ops" }),
        staff(2, { id: "s1", deptId: "d1", bossId: "s2" }),
        staff(3, { id: "s2", bossId: "s1" }),
        dept(4, { id: "d2", name: "HR", headId: "s2" }),
        note(5, { id: "n1", staffId: "s1" }),
        note(6, { id: "n2", staffId: "s2" }),
      ]),
    );
    const shown = () => [c.rows("depts"), c.rows("staff"), c.rows("notes")];
    const all = [
      [
        ["d1", "Ops", null],
        ["d2", "HR", "s2"],
      ],
      [
        ["s1", "d1", "s2", null],
        ["s2", null, "s1", null],
      ],
      [
        ["n1", "s1"],
        ["n2", "s2"],
      ],
    ];
    expect(shown()).toEqual(all);
    c.r.receive(7, message([dept(7, { id: "d1", name: "" })]));
    expect(shown()).toEqual([[], [], []]);
    expect(c.r.parked().map((p) => `${p.key.id} ${p.reason}`)).toEqual(["d1 check", "d2 parent-missing", "n1 parent-missing", "n2 parent-missing", "s1 parent-missing", "s2 parent-missing"]);
    expect(c.fkCheck()).toEqual([]);
    c.r.receive(7, message([dept(8, { id: "d1", name: "Ops" })]));
    expect(shown()).toEqual(all);
    expect(c.r.parked()).toEqual([]);
  });

  it("where foreign keys cannot be deferred (a host refusing the pragma), a cycle stays parked and other rows go on", () => {
    const d = testDriver();
    const exec = d.exec;
    d.exec = (sql) => {
      if (/defer_foreign_keys\s*=/i.test(sql)) throw new Error("not authorized");
      exec(sql);
    };
    d.exec("PRAGMA foreign_keys = ON");
    d.exec(DDL);
    d.exec(patchesDdl(d, "depts"));
    d.exec(patchesDdl(d, "staff"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    r.receive(7, message([staff(1, { id: "s1", bossId: "s2" }), staff(2, { id: "s2", bossId: "s1" }), dept(3, { id: "d1", name: "Ops" }), staff(4, { id: "s3", deptId: "d1" })]));
    expect(r.parked().map((p) => p.key.id)).toEqual(["s1", "s2"]);
    expect(d.db.prepare("SELECT id FROM staff").pluck().all()).toEqual(["s3"]);
    // A row leaving T without a cycle is deleted as before, children first.
    r.receive(7, message([dept(5, { id: "d1", name: "" })]));
    expect(d.db.prepare("SELECT count(*) FROM staff").pluck().get()).toBe(0);
    expect(r.parked().map((p) => p.key.id)).toEqual(["d1", "s1", "s2", "s3"]);
    expect(d.db.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
  });

  it("a cycle written locally in one batch is shown; one call at a time, its first row is refused as SQLite would", () => {
    const c = company(true);
    expect(() => c.r.upsert("staff", { id: "s1", bossId: "s2" })).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
    c.r.upsertMany("staff", [
      { id: "s1", bossId: "s2" },
      { id: "s2", bossId: "s1" },
    ]);
    expect(c.rows("staff")).toEqual([
      ["s1", null, "s2", null],
      ["s2", null, "s1", null],
    ]);
    expect(c.r.parked()).toEqual([]);
    expect(c.fkCheck()).toEqual([]);
  });
});

describe("unique claims and parents, settled in one pass", () => {
  it("a row whose parent loses a unique value to it is parked as parent-missing, not written against the foreign key", () => {
    for (const fk of [true, false]) {
      const c = company(fk);
      // b3 is shown holding badge X; b1, stamped earlier, claims X too and names b3 as its boss.
      c.r.receive(7, message([staff(5, { id: "b3", badge: "X" })]));
      expect(c.rows("staff")).toEqual([["b3", null, null, "X"]]);
      c.r.receive(7, message([staff(1, { id: "b1", badge: "X", bossId: "b3" })]));
      expect(c.rows("staff")).toEqual([]);
      expect(c.r.parked()).toEqual([
        { table: "staff", key: { id: "b1" }, reason: "parent-missing", detail: "staff" },
        { table: "staff", key: { id: "b3" }, reason: "unique", detail: "staff.badge" },
      ]);
      expect(c.fkCheck()).toEqual([]);
    }
  });

  it("a parked row that gives up a unique value releases the row waiting for it, though it stays parked itself", () => {
    const c = company(true);
    // p1 claims badge X first but waits for its boss; p2 claims X later and waits for p1's claim.
    c.r.receive(7, message([staff(1, { id: "p1", badge: "X", bossId: "nobody" })]));
    c.r.receive(7, message([staff(2, { id: "p2", badge: "X" })]));
    expect(c.r.parked().map((p) => `${p.key.id} ${p.reason}`)).toEqual(["p1 parent-missing", "p2 unique"]);
    // A later patch of p1 takes another badge: X is free, p2 is shown; p1 still waits.
    c.r.receive(7, message([staff(3, { id: "p1", badge: "Y" })]));
    expect(c.rows("staff")).toEqual([["p2", null, null, "X"]]);
    expect(c.r.parked().map((p) => `${p.key.id} ${p.reason}`)).toEqual(["p1 parent-missing"]);
    expect(c.fkCheck()).toEqual([]);
  });
});
