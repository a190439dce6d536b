/**
 * The patch log room (src/patch-log.ts), driven directly on an in-memory database: batched and
 * single inserts into `T_patches` with their explicit NULLs, taking a patch back, and the reads
 * that serve ranges, rebuild heads and drive collection.
 */
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog.js";
import type { SqliteDriver, SqlValue } from "../../src/driver.js";
import { DuplicateInBatchError } from "../../src/patch-log.js";
import type { LocalPatch } from "../../src/replicated-table.js";
import { createReplica, decodeMessage } from "../../src/index.js";
import { enginePatch as patch, testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

/** The driver contract: every parameter is a SQL value (some bindings refuse `undefined` or a hole). */
function bound(p: readonly SqlValue[]): readonly SqlValue[] {
  for (let i = 0; i < p.length; i++) if (p[i] === undefined) throw new TypeError(`parameter ${i + 1} is not bound`);
  return p;
}

function open(ddl: string, table: string) {
  const base = testDriver();
  const calls = { prepared: 0, inserts: 0 };
  const d: SqliteDriver & { db: typeof base.db } = {
    ...base,
    prepare(sql) {
      const s = base.prepare(sql);
      const insert = /^INSERT (OR IGNORE )?INTO "\w+_patches"/.test(sql);
      if (insert) calls.prepared++;
      return {
        run: (p) => (insert && calls.inserts++, s.run(bound(p))),
        get: (p) => s.get(bound(p)),
        all: (p) => s.all(bound(p)),
      };
    },
  };
  d.exec(ddl);
  const t = new Catalog(d).get(table);
  calls.prepared = 0;
  const all = (sql: string) => d.db.prepare(sql).raw(true).all() as unknown[][];
  const count = (sql: string) => d.db.prepare(sql).pluck().get() as number;
  return { d, t, all, count, calls };
}

const items = (inline: boolean) => open(itemsDdl(inline), "items");
const PATCH_ROWS = `SELECT id, name, qty, price, deletedAt, _patchedAt, _sequenceId, _peerId FROM items_patches ORDER BY _peerId, _sequenceId`;
const WIDE_COLS = Array.from({ length: 19 }, (_, i) => `c${i}`);
// 20 columns + 4 reserved = 24 values a row: 999 / 24 = 41 rows a statement.
const WIDE_DDL = `CREATE TABLE wide (id INTEGER PRIMARY KEY, ${WIDE_COLS.map((c) => `${c} INTEGER`).join(", ")});
CREATE TABLE wide_patches (id INTEGER, ${WIDE_COLS.map((c) => `${c} INTEGER`).join(", ")}, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT);`;

describe("patch log: writing", () => {
  for (const inline of [false, true]) {
    const where = inline ? "in _nulls" : "in the side table";
    it(`queues patches and writes them at flush(), explicit NULLs ${where}`, () => {
      const { t, all, count } = items(inline);
      t.log.queue(patch(t, 1, 1, 100, { id: 1, name: "a", qty: null }));
      t.log.queue(patch(t, 2, 7, 90, { id: 2, price: 1.5 }));
      t.log.queue(patch(t, 1, 2, 101, { id: 1, deletedAt: null, name: null }));
      expect(count("SELECT count(*) FROM items_patches")).toBe(0);
      t.log.flush();
      expect(all(PATCH_ROWS)).toEqual([
        [1, "a", null, null, null, 100, 1, 1],
        [1, null, null, null, null, 101, 2, 1],
        [2, null, null, 1.5, null, 90, 7, 2],
      ]);
      const nulls = inline
        ? all(`SELECT _peerId, _sequenceId, _nulls FROM items_patches ORDER BY _peerId, _sequenceId`)
        : all(`SELECT peerId, seq, cols FROM _replic_nulls ORDER BY peerId, seq`);
      const expected = [
        [1, 1, "qty"],
        [1, 2, "name\u001fdeletedAt"],
      ];
      expect(nulls).toEqual(inline ? [...expected, [2, 7, null]] : expected);
      if (inline) expect(count("SELECT count(*) FROM _replic_nulls")).toBe(0);
      t.log.flush(); // nothing left
      expect(count("SELECT count(*) FROM items_patches")).toBe(3);
    });
  }

  it("writes a full batch by itself, in one statement: 64 rows of a narrow table", () => {
    const { t, count, calls } = items(false);
    for (let i = 1; i <= 63; i++) t.log.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }));
    expect(count("SELECT count(*) FROM items_patches")).toBe(0);
    t.log.queue(patch(t, 1, 64, 200, { id: 64, qty: 64 }));
    expect(count("SELECT count(*) FROM items_patches")).toBe(64);
    expect(count("SELECT sum(qty) + sum(_sequenceId) FROM items_patches")).toBe(64 * 65);
    expect(calls).toEqual({ prepared: 1, inserts: 1 });
    for (let i = 65; i <= 128; i++) t.log.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }));
    expect(calls).toEqual({ prepared: 1, inserts: 2 });
    // A remainder goes in power-of-two statements: 3 rows = 2 + 1 (the 1-row statement is prepared at open).
    for (let i = 129; i <= 131; i++) t.log.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }));
    t.log.flush();
    expect(calls).toEqual({ prepared: 2, inserts: 4 });
    expect(count("SELECT count(*) FROM items_patches")).toBe(131);
    // 40 rows = 32 + 8: two more statements, both prepared once.
    for (let i = 132; i <= 171; i++) t.log.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }));
    t.log.flush();
    expect(calls).toEqual({ prepared: 4, inserts: 6 });
    for (let i = 172; i <= 211; i++) t.log.queue(patch(t, 1, i, 100 + i, { id: i, qty: i }));
    t.log.flush();
    expect(calls).toEqual({ prepared: 4, inserts: 8 });
    expect(count("SELECT count(*) FROM items_patches")).toBe(211);
    expect(count("SELECT sum(qty) FROM items_patches")).toBe((211 * 212) / 2);
  });

  it("sizes batches by the parameter limit: 41 rows of twenty columns and four reserved ones", () => {
    const { t, count } = open(WIDE_DDL, "wide");
    const row = (id: number) => Object.fromEntries([["id", id], ...WIDE_COLS.map((c, j) => [c, id * 100 + j])]);
    for (let i = 1; i <= 40; i++) t.log.queue(patch(t, 1, i, 100 + i, row(i)));
    expect(count("SELECT count(*) FROM wide_patches")).toBe(0);
    t.log.queue(patch(t, 1, 41, 200, row(41)));
    expect(count("SELECT count(*) FROM wide_patches")).toBe(41);
    expect(count("SELECT sum(c18) FROM wide_patches")).toBe(100 * ((41 * 42) / 2) + 18 * 41);
  });

  it("a reused slot of the batch does not keep the columns of the patch before", () => {
    const { t, all } = items(true);
    t.log.queue(patch(t, 1, 1, 100, { id: 1, name: "a", qty: 1, price: 1, deletedAt: 1 }));
    t.log.flush();
    t.log.queue(patch(t, 1, 2, 101, { id: 1, qty: null }));
    t.log.flush();
    expect(all(`SELECT id, name, qty, price, deletedAt, _nulls FROM items_patches WHERE _sequenceId = 2`)).toEqual([[1, null, null, null, null, "qty"]]);
  });

  it("binds every column, so a DEFAULT on T_patches cannot fake a set column", () => {
    const ddl = `CREATE TABLE d (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE d_patches (id INTEGER, v TEXT DEFAULT 'default', _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT DEFAULT 'v');`;
    const { t, all } = open(ddl, "d");
    t.log.queue(patch(t, 1, 1, 100, { id: 1 }));
    t.log.flush();
    t.log.store(patch(t, 1, 2, 101, { id: 2 }), false);
    expect(all(`SELECT id, v, _nulls FROM d_patches ORDER BY id`)).toEqual([
      [1, null, null],
      [2, null, null],
    ]);
  });

  it("a patch already stored makes flush() throw DuplicateInBatchError, for a full batch and a partial one", () => {
    for (const n of [64, 3]) {
      const { t, count } = items(false);
      t.log.store(patch(t, 1, 2, 100, { id: 1 }), false);
      for (let i = 1; i <= n; i++) {
        try {
          t.log.queue(patch(t, 1, i, 100 + i, { id: i }));
        } catch (e) {
          expect(e).toBeInstanceOf(DuplicateInBatchError);
          expect(i).toBe(64);
        }
      }
      if (n < 64) expect(() => t.log.flush()).toThrow(DuplicateInBatchError);
      expect(() => t.log.flush()).not.toThrow(); // the queue was emptied
      expect(new DuplicateInBatchError().message).toBe("a patch in the batch was already stored");
      // INSERT OR IGNORE stored the others; the caller rolls the transaction back.
      expect(count("SELECT count(*) FROM items_patches")).toBe(n);
    }
  });

  it("discard() drops what is queued", () => {
    const { t, count } = items(false);
    t.log.queue(patch(t, 1, 1, 100, { id: 1 }));
    t.log.queue(patch(t, 1, 2, 101, { id: 2 }));
    t.log.discard();
    t.log.flush();
    expect(count("SELECT count(*) FROM items_patches")).toBe(0);
    t.log.queue(patch(t, 1, 3, 102, { id: 3 }));
    t.log.flush();
    expect(count("SELECT count(*) FROM items_patches")).toBe(1);
  });

  for (const inline of [false, true]) {
    it(`store(): now, reporting a duplicate or refusing it (explicit NULLs ${inline ? "inline" : "in the side table"})`, () => {
      const { t, all } = items(inline);
      expect(t.log.store(patch(t, 1, 1, 100, { id: 1, name: null }), true)).toBe(true);
      expect(t.log.store(patch(t, 1, 1, 999, { id: 1, qty: null }), true)).toBe(false);
      expect(() => t.log.store(patch(t, 1, 1, 999, { id: 5 }), false)).toThrow(/UNIQUE constraint failed/);
      expect(all(`SELECT id, _patchedAt, _sequenceId, _peerId FROM items_patches`)).toEqual([[1, 100, 1, 1]]);
      const nulls = inline ? all(`SELECT _nulls FROM items_patches`) : all(`SELECT cols FROM _replic_nulls`);
      expect(nulls).toEqual([["name"]]);
      if (inline) expect(all(`SELECT * FROM _replic_nulls`)).toEqual([]);
    });
  }
});

describe("patch log: taking a patch back", () => {
  it("the last queued patch is dropped from the queue, with its side-table NULLs", () => {
    const { t, all } = items(false);
    const p1 = patch(t, 1, 1, 100, { id: 1 });
    const p2 = patch(t, 1, 2, 101, { id: 2, name: null });
    t.log.queue(p1);
    t.log.queue(p2);
    t.log.unstore(p2);
    t.log.flush();
    expect(all(`SELECT id, _sequenceId FROM items_patches`)).toEqual([[1, 1]]);
    expect(all(`SELECT * FROM _replic_nulls`)).toEqual([]);
  });

  it("a stored patch is deleted; the queue is left alone", () => {
    const { t, all } = items(false);
    const stored = patch(t, 2, 5, 90, { id: 9, qty: null });
    t.log.store(stored, false);
    t.log.queue(patch(t, 1, 5, 100, { id: 1 })); // same sequence, another peer
    t.log.unstore(stored);
    expect(all(`SELECT _peerId, _sequenceId FROM items_patches`)).toEqual([]);
    t.log.flush();
    expect(all(`SELECT _peerId, _sequenceId FROM items_patches`)).toEqual([[1, 5]]);
    expect(all(`SELECT * FROM _replic_nulls`)).toEqual([]);
  });

  it("a stored patch of the same peer as the last queued one, another sequence, is deleted", () => {
    const { t, all } = items(true);
    const stored = patch(t, 1, 3, 90, { id: 9 });
    t.log.store(stored, false);
    t.log.queue(patch(t, 1, 4, 100, { id: 1 }));
    t.log.queue(patch(t, 1, 5, 101, { id: 2 }));
    t.log.unstore(stored);
    t.log.flush();
    expect(all(`SELECT _sequenceId FROM items_patches ORDER BY 1`)).toEqual([[4], [5]]);
  });

  it("with nothing queued, a stored patch is deleted", () => {
    const { t, count } = items(true);
    const stored = patch(t, 1, 1, 90, { id: 9 });
    t.log.store(stored, false);
    t.log.unstore(stored);
    expect(count("SELECT count(*) FROM items_patches")).toBe(0);
  });
});

describe("patch log: reading", () => {
  function seeded(inline: boolean) {
    const s = items(inline);
    const { t } = s;
    t.log.store(patch(t, 1, 1, 100, { id: 1, name: "a", qty: 1 }), false);
    t.log.store(patch(t, 1, 2, 300, { id: 2, name: null }), false);
    t.log.store(patch(t, 1, 3, 200, { id: 1, price: 2.5, deletedAt: null }), false);
    t.log.store(patch(t, 2, 1, 150, { id: 1, qty: 0 }), false);
    t.log.queue(patch(t, 1, 4, 400, { id: 3, name: "queued" }));
    return s;
  }

  for (const inline of [false, true]) {
    const where = inline ? "inline" : "side-table";
    it(`readRange(): one origin's patches in [from, to], by sequence, with explicit NULLs (${where})`, () => {
      const { t } = seeded(inline);
      const out: LocalPatch[] = [];
      t.log.readRange(t, 1, 2, 3, out);
      expect(out).toEqual([
        { table: t, peerId: 1, seq: 2, patchedAt: 300, cols: [0, 1], values: [2, null] },
        { table: t, peerId: 1, seq: 3, patchedAt: 200, cols: [0, 3, 4], values: [1, 2.5, null] },
      ]);
      t.log.readRange(t, 2, 1, 1, out);
      expect(out).toHaveLength(3);
      expect(out[2]).toEqual({ table: t, peerId: 2, seq: 1, patchedAt: 150, cols: [0, 2], values: [1, 0] });
    });

    it(`readAll(): every stored patch with its origin (${where})`, () => {
      const { t } = seeded(inline);
      t.log.flush();
      const all = t.log.readAll(t).sort((a, b) => a.peerId - b.peerId || a.seq - b.seq);
      expect(all.map((p) => [p.peerId, p.seq, p.patchedAt, p.cols, p.values])).toEqual([
        [1, 1, 100, [0, 1, 2], [1, "a", 1]],
        [1, 2, 300, [0, 1], [2, null]],
        [1, 3, 200, [0, 3, 4], [1, 2.5, null]],
        [1, 4, 400, [0, 1], [3, "queued"]],
        [2, 1, 150, [0, 2], [1, 0]],
      ]);
      expect(all.every((p) => p.table === t)).toBe(true);
    });
  }

  for (const inline of [false, true]) {
    it(`a column named null is not taken for an explicit NULL (${inline ? "inline" : "side-table"})`, () => {
      const ddl = `CREATE TABLE n (id INTEGER PRIMARY KEY, "null" TEXT);
CREATE TABLE n_patches (id INTEGER, "null" TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL${inline ? ", _nulls TEXT" : ""});`;
      const { t } = open(ddl, "n");
      t.log.store(patch(t, 1, 1, 100, { id: 1 }), false);
      t.log.store(patch(t, 1, 2, 101, { id: 1, null: null }), false);
      const out: LocalPatch[] = [];
      t.log.readRange(t, 1, 1, 2, out);
      expect(out.map((p) => [p.cols, p.values])).toEqual([
        [[0], [1]],
        [
          [0, 1],
          [1, null],
        ],
      ]);
      expect(t.log.readAll(t).map((p) => p.cols.length).sort()).toEqual([1, 2]);
    });
  }

  it("stampOf(): the timestamp of a stored or queued patch, undefined otherwise", () => {
    const { t } = seeded(false);
    expect(t.log.stampOf(1, 3)).toBe(200);
    expect(t.log.stampOf(1, 4)).toBe(400);
    expect(t.log.stampOf(2, 2)).toBeUndefined();
    expect(t.log.stampOf(3, 1)).toBeUndefined();
  });

  it("lastOf(): the highest sequence of an origin and its timestamp, [0, 0] for none", () => {
    const { t } = seeded(false);
    t.log.flush();
    expect(t.log.lastOf(1)).toEqual([4, 400]);
    expect(t.log.lastOf(2)).toEqual([1, 150]);
    expect(t.log.lastOf(3)).toEqual([0, 0]);
  });

  it("sequencesAbove(): the sequences of an origin above one", () => {
    const { t } = seeded(false);
    t.log.flush();
    expect(t.log.sequencesAbove(1, 2).sort()).toEqual([3, 4]);
    expect(t.log.sequencesAbove(1, 4)).toEqual([]);
    expect(t.log.sequencesAbove(2, 0)).toEqual([1]);
  });

  it("firstStampedFrom(): the lowest sequence of an origin from a point on stamped at or after a time", () => {
    const { t } = seeded(false);
    t.log.flush();
    // Origin 1: seq 1 at 100, 2 at 300, 3 at 200, 4 at 400.
    expect(t.log.firstStampedFrom(1, 1, 100)).toBe(1);
    expect(t.log.firstStampedFrom(1, 1, 101)).toBe(2);
    expect(t.log.firstStampedFrom(1, 1, 300)).toBe(2);
    expect(t.log.firstStampedFrom(1, 3, 200)).toBe(3);
    expect(t.log.firstStampedFrom(1, 3, 201)).toBe(4);
    expect(t.log.firstStampedFrom(1, 2, 301)).toBe(4);
    expect(t.log.firstStampedFrom(1, 1, 401)).toBeUndefined();
    expect(t.log.firstStampedFrom(1, 5, 0)).toBeUndefined();
    expect(t.log.firstStampedFrom(2, 1, 0)).toBe(1);
    expect(t.log.firstStampedFrom(9, 1, 0)).toBeUndefined();
  });

  it("deleteThrough(): deletes an origin's patches up to a sequence and says how many", () => {
    const { t, all } = seeded(false);
    t.log.flush();
    expect(t.log.deleteThrough(1, 2)).toBe(2);
    expect(t.log.deleteThrough(1, 2)).toBe(0);
    expect(all(`SELECT _peerId, _sequenceId FROM items_patches ORDER BY 1, 2`)).toEqual([
      [1, 3],
      [1, 4],
      [2, 1],
    ]);
  });
});

describe("PatchLog: a CHECK on T_patches is not a duplicate", () => {
  // INSERT OR IGNORE skipped rows a CHECK refused too, so a local write was reported as
  // IDENTITY_CONFLICT and a received patch was counted as a duplicate and dropped.
  const ddl = itemsDdl(false).replace("qty INTEGER, price REAL, deletedAt INTEGER,\n  _patchedAt", "qty INTEGER CHECK (qty IS NULL OR qty >= 0), price REAL, deletedAt INTEGER,\n  _patchedAt");
  const migrations = [{ up: ddl, down: "DROP TABLE items_patches; DROP TABLE items;" }];
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
    return "no error";
  };

  it("a local write the CHECK refuses fails with CONSTRAINT and writes nothing, in upsert, upsertMany and transaction()", () => {
    expect(ddl).toContain("CHECK (qty IS NULL OR qty >= 0), price");
    const d = testDriver();
    const r = createReplica(d, { peerId: 3, heartbeatMs: 0 });
    r.migrate(migrations);
    r.upsert("items", { id: 1, qty: 1 });
    expect(codeOf(() => r.upsert("items", { id: 2, qty: -1 }))).toBe("CONSTRAINT");
    expect(codeOf(() => r.upsertMany("items", [{ id: 3, qty: 1 }, { id: 4, qty: -1 }]))).toBe("CONSTRAINT");
    expect(codeOf(() => r.transaction(() => r.upsertMany("items", Array.from({ length: 70 }, (_, i) => ({ id: 10 + i, qty: i === 69 ? -1 : i })))))).toBe("CONSTRAINT");
    expect(d.db.prepare("SELECT count(*) FROM items").pluck().get()).toBe(1);
    expect(d.db.prepare("SELECT count(*) FROM items_patches").pluck().get()).toBe(1);
    // Still usable, and no sequence number was used by the failures.
    const before = r.status().sequence;
    r.upsert("items", { id: 5, qty: 2 });
    expect(before).toBe(1);
    expect(r.status().sequence).toBe(2);
    r.close();
  });

  it("a received patch the CHECK refuses fails the message with CONSTRAINT and is not counted as held", () => {
    const a = createReplica(testDriver(), { peerId: 1, heartbeatMs: 0 });
    a.migrate([{ up: itemsDdl(false), down: "DROP TABLE items_patches; DROP TABLE items;" }]);
    const sent: Uint8Array[] = [];
    a.addPeer(2, (b) => void sent.push(b));
    sent.length = 0;
    a.upsertMany("items", [{ id: 1, qty: 1 }, { id: 2, qty: -1 }]);
    const d = testDriver();
    const b = createReplica(d, { peerId: 2, heartbeatMs: 0 });
    b.migrate(migrations);
    const patches = sent.filter((m) => decodeMessage(m).kind === "patches");
    expect(patches).toHaveLength(1);
    expect(codeOf(() => b.receive(1, patches[0]!))).toBe("CONSTRAINT");
    expect(d.db.prepare("SELECT count(*) FROM items_patches").pluck().get()).toBe(0);
    expect(b.status().origins.find((o) => o.peerId === 1)?.contiguous ?? 0).toBe(0);
    a.close();
    b.close();
  });
});

describe("PatchLog and RowMerger: the driver's numeric hint", () => {
  // The hint lets a driver bind an integer as a plain number where the column's affinity stores
  // it as INTEGER anyway; in an untyped column a number would store as REAL. Every write path
  // must hint exactly the typed columns (the test driver binds like the better-sqlite3 adapter).
  const DDL = `CREATE TABLE kv (k TEXT PRIMARY KEY, v, n INTEGER, r REAL, m NUMERIC);
CREATE TABLE kv_patches (k TEXT, v, n INTEGER, r REAL, m NUMERIC, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
  PRIMARY KEY (k, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
CREATE UNIQUE INDEX kv_patches_seq ON kv_patches (_peerId, _sequenceId);`;
  const migrations = [{ up: DDL, down: "DROP TABLE kv_patches; DROP TABLE kv;" }];
  const classes = (d: ReturnType<typeof testDriver>, table: string) =>
    d.db.prepare(`SELECT DISTINCT typeof(v), typeof(n), typeof(r), typeof(m), typeof(k) FROM ${table}`).raw(true).all();
  const EXPECTED = [["integer", "integer", "real", "integer", "text"]];

  it("upsert, upsertMany (many rows per statement) and receive store integers as INTEGER in an untyped column, in T and T_patches", () => {
    const d = testDriver();
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    r.migrate(migrations);
    const sent: Uint8Array[] = [];
    r.addPeer(2, (b) => void sent.push(b));
    r.upsert("kv", { k: "one", v: 5, n: 6, r: 7, m: 8 });
    r.upsertMany("kv", Array.from({ length: 150 }, (_, i) => ({ k: `k${i}`, v: i, n: i, r: i, m: i })));
    r.transaction(() => {
      for (let i = 0; i < 80; i++) r.upsert("kv", { k: `t${i}`, v: i + 1, n: 2, r: 3, m: 4 });
    });
    expect(classes(d, "kv")).toEqual(EXPECTED);
    expect(classes(d, "kv_patches")).toEqual(EXPECTED);

    const d2 = testDriver();
    const r2 = createReplica(d2, { peerId: 2, heartbeatMs: 0 });
    r2.migrate(migrations);
    for (const m of sent) if (decodeMessage(m).kind === "patches") r2.receive(1, m);
    expect(d2.db.prepare("SELECT count(*) FROM kv").pluck().get()).toBe(231);
    expect(classes(d2, "kv")).toEqual(EXPECTED);
    expect(classes(d2, "kv_patches")).toEqual(EXPECTED);
    r.close();
    r2.close();
  });
});
