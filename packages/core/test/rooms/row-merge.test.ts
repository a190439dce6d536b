/**
 * The merge rule room (src/row-merge.ts), driven directly on an in-memory database: which patch
 * wins each column, late patches, batching of the newest ones, and rebuilding a row.
 */
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog.js";
import type { SqliteDriver } from "../../src/driver.js";
import type { LocalPatch, ReplicatedTable } from "../../src/replicated-table.js";
import { itemsDdl } from "../sim.js";
import { enginePatch as patch, testDriver } from "../helpers.js";

/** What the merger asked of SQLite: statements prepared, upserts run, probes read. */
interface Calls {
  prepared: number;
  upserts: number;
  probes: number;
}

function open(ddl: string, table: string) {
  const base = testDriver();
  const calls: Calls = { prepared: 0, upserts: 0, probes: 0 };
  const d: SqliteDriver & { db: typeof base.db } = {
    ...base,
    prepare(sql) {
      const s = base.prepare(sql);
      const upsert = sql.startsWith(`INSERT INTO "${table}" `);
      const probe = sql.includes("max(p.");
      if (upsert) calls.prepared++;
      return {
        run: (p) => (upsert && calls.upserts++, s.run(p)),
        get: (p) => (probe && calls.probes++, s.get(p)),
        all: (p) => s.all(p),
      };
    },
  };
  d.exec(ddl);
  const t = new Catalog(d).get(table);
  const rows = (order = "rowid") => d.db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).raw(true).all() as unknown[][];
  const count = (sql: string) => d.db.prepare(sql).pluck().get() as number;
  return { d, t, rows, count, calls };
}

/** Stores a patch in T_patches and merges it: as the newest of its row, or (`newest` false) as a late one that probes its row's later patches. */
function apply(t: ReplicatedTable, p: LocalPatch, newest = true): void {
  t.log.store(p, false);
  t.rows.merge(p, newest);
}

const items = (inline: boolean) => open(itemsDdl(inline), "items");
// A composite key declared in another order than the columns: key order is (r, sheet).
const CELLS_DDL = `CREATE TABLE cells (sheet TEXT NOT NULL, v TEXT, r INTEGER NOT NULL, PRIMARY KEY (r, sheet));
CREATE TABLE cells_patches (sheet TEXT, v TEXT, r INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
// Twenty columns: 999 / 20 = 49 rows per multi-row statement, fewer than the 64-row cap.
const WIDE_COLS = Array.from({ length: 19 }, (_, i) => `c${i}`);
const WIDE_DDL = `CREATE TABLE wide (id INTEGER PRIMARY KEY, ${WIDE_COLS.map((c) => `${c} INTEGER`).join(", ")});
CREATE TABLE wide_patches (id INTEGER, ${WIDE_COLS.map((c) => `${c} INTEGER`).join(", ")}, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;

describe("row merge: the newest patch of a row", () => {
  it("merge(newest) upserts exactly the columns the patch sets", () => {
    const { t, rows } = items(false);
    t.rows.merge(patch(t, 1, 1, 100, { id: 1, name: "a", qty: 2 }), true);
    t.rows.merge(patch(t, 1, 2, 101, { id: 1, price: 1.5 }), true);
    t.rows.merge(patch(t, 1, 3, 102, { id: 1, qty: null }), true);
    t.rows.merge(patch(t, 1, 4, 103, { id: 2, deletedAt: 9 }), true);
    expect(rows()).toEqual([
      [1, "a", null, 1.5, null],
      [2, null, null, null, 9],
    ]);
  });

  it("a primary-key-only patch creates the row and leaves an existing one as it is", () => {
    const { t, rows } = items(false);
    t.rows.merge(patch(t, 1, 1, 100, { id: 1 }), true);
    expect(rows()).toEqual([[1, null, null, null, null]]);
    t.rows.merge(patch(t, 1, 2, 101, { id: 1, name: "x" }), true);
    t.rows.merge(patch(t, 1, 3, 102, { id: 1 }), true);
    t.rows.queue(patch(t, 1, 4, 103, { id: 1 }), true);
    t.rows.flush();
    expect(rows()).toEqual([[1, "x", null, null, null]]);
  });
});

describe("row merge: batching the newest patches", () => {
  it("holds queued rows until flush(), then writes them in order (a repeated key ends as the last)", () => {
    const { t, rows } = items(false);
    t.rows.queue(patch(t, 1, 1, 100, { id: 1, name: "a" }), true);
    t.rows.queue(patch(t, 1, 2, 101, { id: 2, name: "b" }), true);
    t.rows.queue(patch(t, 1, 3, 102, { id: 1, name: "c" }), true);
    expect(rows()).toEqual([]);
    t.rows.flush();
    expect(rows()).toEqual([
      [1, "c", null, null, null],
      [2, "b", null, null, null],
    ]);
    t.rows.flush(); // nothing left to write
    expect(rows()).toHaveLength(2);
  });

  it("flush() on a merger that never queued anything writes nothing", () => {
    const { t, rows } = items(false);
    t.rows.flush();
    t.rows.discard();
    t.rows.flush();
    expect(rows()).toEqual([]);
  });

  it("writes a full batch by itself: 64 rows of a narrow table", () => {
    const { t, count } = items(false);
    for (let i = 1; i <= 63; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    expect(count("SELECT count(*) FROM items")).toBe(0);
    t.rows.queue(patch(t, 1, 64, 200, { id: 64, qty: 64 }), true);
    expect(count("SELECT count(*) FROM items")).toBe(64);
    expect(count("SELECT sum(qty) FROM items")).toBe((64 * 65) / 2);
    // The next batch starts empty.
    t.rows.queue(patch(t, 1, 65, 201, { id: 65, qty: 65 }), true);
    expect(count("SELECT count(*) FROM items")).toBe(64);
    t.rows.flush();
    expect(count("SELECT count(*) FROM items")).toBe(65);
  });

  it("a full batch of a repeated key ends with the last patch", () => {
    const { t, rows } = items(false);
    for (let i = 1; i <= 64; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: 7, qty: i }), true);
    expect(rows()).toEqual([[7, null, 64, null, null]]);
  });

  it("sizes batches by the parameter limit: 49 rows of twenty columns", () => {
    const { t, count } = open(WIDE_DDL, "wide");
    const row = (id: number) => Object.fromEntries([["id", id], ...WIDE_COLS.map((c, j) => [c, id * 100 + j])]);
    for (let i = 1; i <= 48; i++) t.rows.queue(patch(t, 1, i, 100 + i, row(i)), true);
    expect(count("SELECT count(*) FROM wide")).toBe(0);
    t.rows.queue(patch(t, 1, 49, 200, row(49)), true);
    expect(count("SELECT count(*) FROM wide")).toBe(49);
    expect(count("SELECT sum(c18) FROM wide")).toBe(100 * ((49 * 50) / 2) + 18 * 49);
  });

  it("partial batches of different sizes each write exactly their rows", () => {
    const { t, rows } = items(false);
    for (let i = 1; i <= 3; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    t.rows.flush();
    for (let i = 4; i <= 5; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    t.rows.flush();
    t.rows.queue(patch(t, 1, 6, 106, { id: 6, qty: 6 }), true);
    t.rows.flush();
    expect(rows().map((r) => r[2])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("a change of column set writes the rows queued before it", () => {
    const { t, rows } = items(false);
    t.rows.queue(patch(t, 1, 1, 101, { id: 1, name: "a" }), true);
    t.rows.queue(patch(t, 1, 2, 102, { id: 1, qty: 5 }), true);
    t.rows.queue(patch(t, 1, 3, 103, { id: 2, name: "b" }), true);
    t.rows.queue(patch(t, 1, 4, 104, { id: 2, name: "c" }), true);
    t.rows.queue(patch(t, 1, 5, 105, { id: 1, name: "d", price: 2.5 }), true);
    t.rows.flush();
    expect(rows()).toEqual([
      [1, "d", 5, 2.5, null],
      [2, "c", null, null, null],
    ]);
  });

  it("discard() drops what is queued; queueing goes on afterwards", () => {
    const { t, rows } = items(false);
    t.rows.queue(patch(t, 1, 1, 101, { id: 1, name: "a" }), true);
    t.rows.queue(patch(t, 1, 2, 102, { id: 2, name: "b" }), true);
    t.rows.discard();
    t.rows.flush();
    expect(rows()).toEqual([]);
    t.rows.queue(patch(t, 1, 3, 103, { id: 3, name: "c" }), true);
    t.rows.flush();
    expect(rows()).toEqual([[3, "c", null, null, null]]);
  });

  it("a late patch first writes the queued newest ones, so a later one of them cannot overwrite it", () => {
    const { t, rows } = items(false);
    // 10 and 20 are queued as the newest; 15 arrives late for row 1 but is newer than 10.
    const p10 = patch(t, 1, 1, 10, { id: 1, name: "ten" });
    const p20 = patch(t, 2, 1, 20, { id: 2, name: "twenty" });
    const p15 = patch(t, 3, 1, 15, { id: 1, name: "fifteen" });
    for (const p of [p10, p20]) {
      t.log.queue(p);
      t.rows.queue(p, true);
    }
    t.log.queue(p15);
    t.rows.queue(p15, false);
    t.flush();
    expect(rows()).toEqual([
      [1, "fifteen", null, null, null],
      [2, "twenty", null, null, null],
    ]);
  });
});

describe("row merge: statements", () => {
  it("a full batch is one multi-row statement; a partial one goes in power-of-two statements", () => {
    const { t, calls, count } = items(false);
    for (let i = 1; i <= 64; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    expect(calls).toEqual({ prepared: 1, upserts: 1, probes: 0 });
    for (let i = 65; i <= 67; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    t.rows.flush();
    expect(calls).toEqual({ prepared: 3, upserts: 3, probes: 0 }); // 2 + 1
    for (let i = 68; i <= 107; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    t.rows.flush();
    expect(calls).toEqual({ prepared: 5, upserts: 5, probes: 0 }); // 32 + 8
    for (let i = 108; i <= 110; i++) t.rows.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }), true);
    t.rows.flush();
    expect(calls).toEqual({ prepared: 5, upserts: 7, probes: 0 }); // reused
    expect(count("SELECT count(*) FROM items")).toBe(110);
    expect(count("SELECT sum(qty) FROM items")).toBe((110 * 111) / 2);
  });

  it("prepares one statement per column set and reuses it", () => {
    const { t, calls } = items(false);
    for (let i = 1; i <= 3; i++) t.rows.merge(patch(t, 1, i, 100 + i, { id: i, name: "a" }), true);
    for (let i = 1; i <= 3; i++) t.rows.merge(patch(t, 1, 10 + i, 200 + i, { id: i, qty: 1 }), true);
    for (let i = 1; i <= 64; i++) t.rows.queue(patch(t, 1, 20 + i, 300 + i, { id: i, qty: 2 }), true);
    for (let i = 1; i <= 64; i++) t.rows.queue(patch(t, 1, 90 + i, 400 + i, { id: i, qty: 3 }), true);
    expect(calls).toEqual({ prepared: 3, upserts: 8, probes: 0 });
  });

  it("a patch known to be the newest skips the probe; a late one reads it once", () => {
    const { t, calls, rows } = items(false);
    apply(t, patch(t, 1, 1, 300, { id: 1, name: "new" }));
    expect(calls.probes).toBe(0);
    const late = patch(t, 2, 1, 200, { id: 1, name: "late", qty: 1 });
    apply(t, late, false);
    expect(calls.probes).toBe(1);
    expect(rows()).toEqual([[1, "new", 1, null, null]]);
  });
});

describe("row merge: a late patch", () => {
  it("queued as not the newest, it is merged by the rule at once", () => {
    const { t, rows, calls } = items(false);
    apply(t, patch(t, 1, 1, 300, { id: 1, name: "new", qty: 1 }));
    const late = patch(t, 2, 1, 200, { id: 1, name: "late", price: 2 });
    t.log.queue(late);
    t.rows.queue(late, false);
    expect(rows()).toEqual([[1, "new", 1, 2, null]]);
    expect(calls.probes).toBe(1);
    t.flush();
    expect(rows()).toEqual([[1, "new", 1, 2, null]]);
  });

  it("does not take a list of explicit NULLs for a column named null", () => {
    const ddl = `CREATE TABLE n (id INTEGER PRIMARY KEY, "null" TEXT, other TEXT);
CREATE TABLE n_patches (id INTEGER, "null" TEXT, other TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT);`;
    const { t, rows } = open(ddl, "n");
    apply(t, patch(t, 1, 1, 300, { id: 1, other: "later" }));
    const late = patch(t, 2, 1, 200, { id: 1, null: "late", other: "lost" });
    apply(t, late, false);
    expect(rows()).toEqual([[1, "late", "later"]]);
    // Rebuilding: no patch set "null" to NULL, so its value stays.
    t.rows.rebuild([1], false);
    expect(rows()).toEqual([[1, "late", "later"]]);
    apply(t, patch(t, 1, 2, 400, { id: 1, other: "x" }));
    t.log.unstore(late);
    t.rows.rebuild([1], false);
    expect(rows()).toEqual([[1, "late", "x"]]);
  });

  it("never updates the key columns of an existing row (no UPDATE OF key fires)", () => {
    const ddl = `${itemsDdl(false)}
CREATE TABLE key_updates (n INTEGER);
CREATE TRIGGER items_key AFTER UPDATE OF id ON items BEGIN INSERT INTO key_updates VALUES (1); END;`;
    const { t, rows, count } = open(ddl, "items");
    apply(t, patch(t, 1, 1, 100, { id: 1, name: "a" }));
    apply(t, patch(t, 1, 2, 200, { id: 1, qty: 2 }));
    apply(t, patch(t, 1, 3, 300, { id: 1 }));
    const late = patch(t, 2, 1, 150, { id: 1, name: "late", price: 1 });
    apply(t, late, false);
    t.rows.rebuild([1], true);
    expect(rows()).toEqual([[1, "late", 2, 1, null]]);
    expect(count("SELECT count(*) FROM key_updates")).toBe(0);
  });

  for (const inline of [false, true]) {
    const where = inline ? "T_patches._nulls" : "the side table";
    it(`writes only the columns no later patch set, to a value or to NULL (explicit NULLs in ${where})`, () => {
      const { t, rows } = items(inline);
      apply(t, patch(t, 1, 1, 100, { id: 1, name: "n0", qty: 0, price: 0, deletedAt: 0 }));
      apply(t, patch(t, 2, 1, 300, { id: 1, name: "later" }));
      apply(t, patch(t, 2, 2, 301, { id: 1, qty: null }));
      // A later patch of another row shadows nothing here.
      apply(t, patch(t, 2, 3, 302, { id: 2, price: 9 }));
      const late = patch(t, 3, 1, 200, { id: 1, name: "late", qty: 7, price: 7.5 });
      apply(t, late, false);
      expect(rows()).toEqual([
        [1, "later", null, 7.5, 0],
        [2, null, null, 9, null],
      ]);
    });

    it(`an explicit NULL of the late patch itself is written when nothing later set the column (${where})`, () => {
      const { t, rows } = items(inline);
      apply(t, patch(t, 1, 1, 100, { id: 1, name: "a", qty: 1 }));
      apply(t, patch(t, 2, 1, 300, { id: 1, name: "b" }));
      const late = patch(t, 3, 1, 200, { id: 1, name: null, qty: null });
      apply(t, late, false);
      expect(rows()).toEqual([[1, "b", null, null, null]]);
    });
  }

  it("wins every column it sets when no later patch of its row is stored", () => {
    const { t, rows } = items(false);
    apply(t, patch(t, 1, 1, 100, { id: 1, name: "a", qty: 1 }));
    apply(t, patch(t, 1, 2, 500, { id: 2, name: "other row" }));
    const late = patch(t, 2, 1, 200, { id: 1, name: "b", price: 2 });
    apply(t, late, false);
    expect(rows()).toEqual([
      [1, "b", 1, 2, null],
      [2, "other row", null, null, null],
    ]);
  });

  it("creates its row when the row has no patch at all", () => {
    const { t, rows } = items(false);
    const late = patch(t, 2, 1, 200, { id: 4, qty: 3 });
    apply(t, late, false);
    expect(rows()).toEqual([[4, null, 3, null, null]]);
  });

  it("keeps the row's key when every other column it sets is shadowed (no second row)", () => {
    const { t, rows } = items(false);
    apply(t, patch(t, 1, 1, 300, { id: 1, name: "kept", qty: 1 }));
    const late = patch(t, 2, 1, 200, { id: 1, name: "lost", qty: 2 });
    apply(t, late, false);
    expect(rows()).toEqual([[1, "kept", 1, null, null]]);
  });

  it("orders equal timestamps by peer id, then by sequence", () => {
    const { t, rows } = items(false);
    apply(t, patch(t, 5, 7, 100, { id: 1, name: "peer5", qty: 57 }));
    // Same timestamp, lower peer: loses. Higher peer: wins.
    const lower = patch(t, 4, 9, 100, { id: 1, name: "peer4", qty: 49 });
    apply(t, lower, false);
    expect(rows()).toEqual([[1, "peer5", 57, null, null]]);
    const higher = patch(t, 6, 1, 100, { id: 1, name: "peer6" });
    apply(t, higher, false);
    expect(rows()).toEqual([[1, "peer6", 57, null, null]]);
    // Same timestamp and peer: the higher sequence wins, the lower loses.
    const seqLow = patch(t, 5, 6, 100, { id: 1, qty: 56 });
    apply(t, seqLow, false);
    expect(rows()).toEqual([[1, "peer6", 57, null, null]]);
    const seqHigh = patch(t, 5, 8, 100, { id: 1, qty: 58 });
    apply(t, seqHigh, false);
    expect(rows()).toEqual([[1, "peer6", 58, null, null]]);
  });

  it("sees later patches still queued in the patch log", () => {
    const { t, rows } = items(false);
    const newer = patch(t, 1, 1, 300, { id: 1, name: "newer" });
    t.log.queue(newer);
    t.rows.merge(newer, true);
    const late = patch(t, 2, 1, 200, { id: 1, name: "late", qty: 3 });
    t.log.queue(late);
    t.rows.merge(late, false);
    expect(rows()).toEqual([[1, "newer", 3, null, null]]);
  });

  it("probes by the whole key, in key order", () => {
    const { t, rows } = open(CELLS_DDL, "cells");
    expect(t.schema.pkIndexes).toEqual([2, 0]);
    apply(t, patch(t, 1, 1, 300, { sheet: "s1", r: 1, v: "s1r1 new" }));
    apply(t, patch(t, 1, 2, 300, { sheet: "s2", r: 2, v: "s2r2 new" }));
    for (const [seq, sheet, r] of [
      [1, "s1", 1],
      [2, "s1", 2],
      [3, "s2", 1],
      [4, "s2", 2],
    ] as const) {
      const late = patch(t, 2, seq, 200, { sheet, r, v: `${sheet}r${r} late` });
      apply(t, late, false);
    }
    expect(rows("r, sheet")).toEqual([
      ["s1", "s1r1 new", 1],
      ["s2", "s2r1 late", 1],
      ["s1", "s1r2 late", 2],
      ["s2", "s2r2 new", 2],
    ]);
  });

  it("ignores names in a later patch's NULL list that are not columns here (dropped since)", () => {
    const { t, rows, d } = items(true);
    apply(t, patch(t, 1, 1, 100, { id: 1, name: "a", qty: 1 }));
    d.exec(`INSERT INTO items_patches (id, _patchedAt, _sequenceId, _peerId, _nulls) VALUES (1, 300, 1, 9, 'gone' || char(31) || 'qty')`);
    const late = patch(t, 2, 1, 200, { id: 1, name: "b", qty: 2 });
    apply(t, late, false);
    expect(rows()).toEqual([[1, "b", 1, null, null]]);
  });
});

describe("row merge: rebuild", () => {
  function seeded(inline: boolean) {
    const s = items(inline);
    // The row as merged, including values of patches collected since (not in T_patches).
    s.d.exec(`INSERT INTO items (id, name, qty, price, deletedAt) VALUES (1, 'from collected', 5, 1.5, 77)`);
    s.t.log.store(patch(s.t, 1, 1, 100, { id: 1, name: "old", qty: 1 }), false);
    s.t.log.store(patch(s.t, 1, 2, 200, { id: 1, name: "new" }), false);
    s.t.log.store(patch(s.t, 2, 1, 150, { id: 1, price: null }), false);
    s.t.log.store(patch(s.t, 2, 2, 150, { id: 2, qty: 42 }), false);
    return s;
  }

  for (const inline of [false, true]) {
    const where = inline ? "inline" : "side-table";
    it(`exact: rewrites the row from its stored patches alone, in patch order (${where} NULLs)`, () => {
      const { t, rows } = seeded(inline);
      t.rows.rebuild([1], true);
      expect(rows()).toEqual([[1, "new", 1, null, null]]);
    });

    it(`not exact: columns no stored patch sets keep their value (${where} NULLs)`, () => {
      const { t, rows } = seeded(inline);
      t.rows.rebuild([1], false);
      expect(rows()).toEqual([[1, "new", 1, null, 77]]);
    });
  }

  it("a row with no stored patch is deleted when exact, kept otherwise", () => {
    const { t, rows, d } = items(false);
    d.exec(`INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two')`);
    t.rows.rebuild([1], false);
    expect(rows()).toEqual([
      [1, "one", null, null, null],
      [2, "two", null, null, null],
    ]);
    t.rows.rebuild([1], true);
    expect(rows()).toEqual([[2, "two", null, null, null]]);
  });

  it("takes the whole key in key order", () => {
    const { t, rows, d } = open(CELLS_DDL, "cells");
    d.exec(`INSERT INTO cells (sheet, v, r) VALUES ('a', 'stale', 1), ('b', 'keep', 1)`);
    t.log.store(patch(t, 1, 1, 100, { sheet: "a", r: 1, v: "fresh" }), false);
    t.rows.rebuild([1, "a"], true);
    expect(rows("sheet")).toEqual([
      ["a", "fresh", 1],
      ["b", "keep", 1],
    ]);
  });

  it("first writes what is queued, in the log and in the merger", () => {
    const { t, rows } = items(false);
    apply(t, patch(t, 1, 1, 100, { id: 1, name: "a" }));
    const queued = patch(t, 1, 2, 200, { id: 1, qty: 2 });
    t.log.queue(queued);
    t.rows.queue(queued, true);
    t.rows.rebuild([1], true);
    expect(rows()).toEqual([[1, "a", 2, null, null]]);
    // Nothing is left queued: a newer merge is not overwritten by a later flush.
    t.rows.merge(patch(t, 1, 3, 300, { id: 1, qty: 3 }), true);
    t.flush();
    expect(rows()).toEqual([[1, "a", 3, null, null]]);
  });
});
