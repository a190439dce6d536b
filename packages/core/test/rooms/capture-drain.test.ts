/**
 * The drain of captured writes (src/capture-drain.ts, the fold in src/capture-queue.ts): SQL
 * folds each row's entries into one patch, numbered in the order rows were first written, with
 * its explicit NULLs (inline or in the side table), and takes a slice where no key repeats (a
 * batch of INSERTs, of one-column UPDATEs) without the fold, to the same patches; a captured value is written back to `T` where
 * the table keeps values as given (an untyped or BLOB column, ANY in a STRICT table), so the
 * writer reads what receivers store, and stays the newest; a captured patch that is not the
 * newest of its row recomputes the row by the merge rule; the merge event names the drained
 * rows; a backlog of several chunks is one group; a broken queue, a statement SQLite refuses or a
 * sequence already stored under our id fails the drain and changes nothing.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createReplica, isReplicError, type MergeEvent, type ReplicaOptions } from "../../src/index.js";
import type { SqliteDriver } from "../../src/driver.js";
import { DRAIN_CHUNK } from "../../src/capture-queue.js";
import { timestampFromMs } from "../../src/clock.js";
import { testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

const WALL = 1_800_000_000_000;
// tags.n has no declared type (BLOB affinity); strict_any.v is ANY in a STRICT table: both keep
// values as given. (ANY outside a STRICT table is NUMERIC, which converts 2.0 to 2 itself.)
const EXTRA_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT, n);
CREATE TABLE tags_patches (tag TEXT, color TEXT, n, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);
CREATE TABLE strict_any (k TEXT PRIMARY KEY, v ANY) STRICT;
CREATE TABLE strict_any_patches (k TEXT, v ANY, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL) STRICT;
CREATE TABLE blobs (k TEXT PRIMARY KEY, b BLOB);
CREATE TABLE blobs_patches (k TEXT, b BLOB, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);
CREATE TABLE q (k TEXT PRIMARY KEY, "it's" TEXT, other TEXT);
CREATE TABLE q_patches (k TEXT, "it's" TEXT, other TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;

function open(db: Database.Database, options: ReplicaOptions = {}) {
  return createReplica(testDriver(db), { peerId: 1, heartbeatMs: 0, now: () => WALL, capture: true, ...options });
}

function fresh(): Database.Database {
  const db = new Database(":memory:");
  db.exec(`${itemsDdl(false)}\n${EXTRA_DDL}`);
  return db;
}

/** A writer whose messages are kept, and a function giving a fresh receiver's rows of `sql` after all of them. */
function linked(db: Database.Database) {
  const out: Uint8Array[] = [];
  const a = open(db);
  a.addPeer(2, (m) => out.push(m));
  const received = (sql: string): unknown[] => {
    const other = fresh();
    const b = createReplica(testDriver(other), { peerId: 2, heartbeatMs: 0, now: () => WALL });
    for (const m of out) b.receive(1, m);
    b.close();
    return other.prepare(sql).raw().all();
  };
  return { a, received };
}

describe("captured writes: the drain", () => {
  it("an integral REAL in an untyped column reads back on the writer as receivers store it", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare("INSERT INTO tags (tag, color, n) VALUES ('t', 'red', 2.0)").run();
    a.flush();
    a.close();
    const sql = "SELECT tag, typeof(n), n FROM tags";
    expect(db.prepare(sql).raw().all()).toEqual([["t", "integer", 2]]);
    expect(received(sql)).toEqual([["t", "integer", 2]]);
  });

  it("so does one in an ANY column of a STRICT table", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare("INSERT INTO strict_any (k, v) VALUES ('k', 5.0)").run();
    a.flush();
    a.close();
    const sql = "SELECT k, typeof(v), v FROM strict_any";
    expect(received(sql)).toEqual([["k", "integer", 5]]);
    expect(db.prepare(sql).raw().all()).toEqual(received(sql));
  });

  it("so does one in a BLOB column; a table with neither keeps the row plain SQL wrote", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare("INSERT INTO blobs (k, b) VALUES ('k', 3.0)").run();
    db.prepare("INSERT INTO items (id, name, price) VALUES (1, 'x', 2.0)").run();
    a.flush();
    a.close();
    expect(db.prepare("SELECT k, typeof(b), b FROM blobs").raw().all()).toEqual([["k", "integer", 3]]);
    // REAL affinity: SQLite stores 2.0 as a REAL on every replica, written back or not.
    expect(db.prepare("SELECT id, typeof(price) FROM items").raw().all()).toEqual([[1, "real"]]);
    expect(received("SELECT k, typeof(b), b FROM blobs")).toEqual([["k", "integer", 3]]);
  });

  it("a captured patch older than what was merged for its row loses the columns both set", () => {
    // A patch of peer 3 merged earlier, stamped ahead of this replica's clock (written through a
    // connection that captures nothing).
    const dir = mkdtempSync(join(tmpdir(), "replic-drain-"));
    const file = join(dir, "db.sqlite");
    const first = new Database(file);
    first.exec(`${itemsDdl(false)}\n${EXTRA_DDL}`);
    open(first).close();
    first.close();
    const ahead = timestampFromMs(WALL + 10_000);
    const plain = new Database(file);
    plain.exec(`INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (1, 'remote', ${ahead}, 1, 3)`);
    plain.exec(`INSERT INTO items (id, name) VALUES (1, 'remote')`);
    plain.exec(`UPDATE _replic_state SET highestTs = ${ahead}`);
    plain.close();
    const db = new Database(file);
    const a = open(db);
    const merges: MergeEvent[] = [];
    a.on("merge", (e) => merges.push(e));
    db.prepare("UPDATE items SET name = 'local', qty = 4 WHERE id = 1").run();
    expect(a.flush()).toBe("1.1");
    expect(db.prepare("SELECT id, name, qty FROM items").raw().all()).toEqual([[1, "remote", 4]]);
    expect(db.prepare("SELECT _sequenceId, _patchedAt < ? FROM items_patches WHERE _peerId = 1").raw().all(ahead)).toEqual([[1, 1]]);
    expect(merges.map((e) => [e.local, e.tables, e.keys])).toEqual([[true, ["items"], { items: [[1]] }]]);
    a.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the merge event of a drain names every drained row once per table", () => {
    const db = fresh();
    const a = open(db);
    const merges: MergeEvent[] = [];
    a.on("merge", (e) => merges.push(e));
    db.transaction(() => {
      db.prepare("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')").run();
      db.prepare("INSERT INTO tags (tag) VALUES ('t')").run();
    })();
    a.flush();
    expect(merges.map((e) => [e.local, e.patches, [...e.tables].sort(), e.keys])).toEqual([[true, 3, ["items", "tags"], { items: [[1], [2]], tags: [["t"]] }]]);
    a.close();
  });

  /** Stored patches of peer 1 as [seq, id, name, qty, price, deletedAt, explicit NULLs]. */
  const patchesOf = (db: Database.Database, nulls: "inline" | "side") =>
    db
      .prepare(
        nulls === "inline"
          ? "SELECT _sequenceId, id, name, qty, price, deletedAt, _nulls FROM items_patches WHERE _peerId = 1 ORDER BY _sequenceId"
          : "SELECT p._sequenceId, id, name, qty, price, deletedAt, n.cols FROM items_patches AS p LEFT JOIN _replic_nulls AS n ON n.peerId = p._peerId AND n.seq = p._sequenceId WHERE p._peerId = 1 ORDER BY p._sequenceId",
      )
      .raw()
      .all()
      .map((r) => (r as unknown[]).map((v) => (typeof v === "string" ? v.replace(/\u001f/g, "|") : v)));

  for (const nulls of ["inline", "side"] as const) {
    it(`one patch per row, one entry each: numbered by entry, explicit NULLs ${nulls === "inline" ? "in _nulls" : "in the side table"}`, () => {
      const db = new Database(":memory:");
      db.exec(itemsDdl(nulls === "inline", "by-origin"));
      const a = open(db);
      const tx = db.transaction(() => {
        db.prepare("INSERT INTO items (id, name, qty) VALUES (7, 'seven', NULL)").run();
        db.prepare("INSERT INTO items (id, name, qty, price) VALUES (3, NULL, 1, 2.5)").run();
      });
      tx();
      expect(a.flush()).toBe("1.2");
      // A one-column UPDATE in a later drain: a partial patch, its NULL explicit.
      db.prepare("UPDATE items SET price = NULL WHERE id = 3").run();
      expect(a.flush()).toBe("1.3");
      expect(patchesOf(db, nulls)).toEqual([
        [1, 7, "seven", null, null, null, "qty|price|deletedAt"],
        [2, 3, null, 1, 2.5, null, "name|deletedAt"],
        [3, 3, null, null, null, null, "price"],
      ]);
      // Each drain is one group with one stamp; the queue is empty.
      expect(db.prepare("SELECT count(DISTINCT _patchedAt) FROM items_patches WHERE _sequenceId <= 2").pluck().get()).toBe(1);
      expect(db.prepare("SELECT count(*) FROM _replic_captured_items").pluck().get()).toBe(0);
      a.close();
    });

    it(`rows with several entries fold into one patch each, numbered in the order rows were first written (${nulls} NULLs)`, () => {
      const db = new Database(":memory:");
      db.exec(itemsDdl(nulls === "inline", "by-origin"));
      const a = open(db);
      const merges: MergeEvent[] = [];
      a.on("merge", (e) => merges.push(e));
      db.transaction(() => {
        db.prepare("INSERT INTO items (id, name, qty) VALUES (5, 'five', 1)").run();
        db.prepare("UPDATE items SET qty = 9 WHERE id = 2").run(); // no row: nothing
        db.prepare("INSERT INTO items (id, name) VALUES (2, 'two')").run();
        db.prepare("UPDATE items SET name = NULL, price = 4.5 WHERE id = 5").run();
        db.prepare("UPDATE items SET qty = 3 WHERE id = 2").run();
        db.prepare("UPDATE items SET qty = 8 WHERE id = 2").run();
        db.prepare("INSERT INTO items (id, qty) VALUES (9, 1)").run();
      })();
      // Row 4 first written after the others: two partial entries fold into one partial patch.
      db.prepare("INSERT INTO items (id) VALUES (4)").run();
      db.prepare("UPDATE items SET deletedAt = 1, qty = NULL WHERE id = 4").run();
      db.prepare("UPDATE items SET price = 1.5 WHERE id = 4").run();
      db.prepare("UPDATE items SET price = 2.5 WHERE id = 4").run();
      expect(a.flush()).toBe("1.4");
      expect(patchesOf(db, nulls)).toEqual([
        [1, 5, null, 1, 4.5, null, "name|deletedAt"],
        [2, 2, "two", 8, null, null, "price|deletedAt"],
        [3, 9, null, 1, null, null, "name|price|deletedAt"],
        [4, 4, null, null, 2.5, 1, "name|qty"],
      ]);
      expect(merges.map((e) => [e.patches, e.keys])).toEqual([[4, { items: [[5], [2], [9], [4]] }]]);
      expect(a.status().sequence).toBe(4);
      a.close();
    });

    it(`entries whose ids have a hole are numbered without one (${nulls} NULLs)`, () => {
      const db = new Database(":memory:");
      db.exec(itemsDdl(nulls === "inline", "by-origin"));
      const a = open(db);
      db.prepare("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, NULL), (4, 'd')").run();
      db.prepare("DELETE FROM _replic_captured_items WHERE _replic_entry = 2").run();
      expect(a.flush()).toBe("1.3");
      expect(patchesOf(db, nulls).map((r) => [r[0], r[1], r[2], r[6]])).toEqual([
        [1, 1, "a", "qty|price|deletedAt"],
        [2, 3, null, "name|qty|price|deletedAt"],
        [3, 4, "d", "qty|price|deletedAt"],
      ]);
      a.close();
    });
  }

  /** A replica on `db` whose driver records the SQL of every statement it runs. */
  const recording = (db: Database.Database) => {
    const d = testDriver(db);
    const ran: string[] = [];
    const driver: SqliteDriver = {
      name: d.name,
      exec: (sql) => d.exec(sql),
      prepare(sql, numeric) {
        const s = d.prepare(sql, numeric);
        return { run: (p) => (ran.push(sql), s.run(p)), get: (p) => (ran.push(sql), s.get(p)), all: (p) => (ran.push(sql), s.all(p)) };
      },
    };
    const a = createReplica(driver, { peerId: 1, heartbeatMs: 0, now: () => WALL, capture: true });
    const folded = () => ran.some((sql) => sql.startsWith("INSERT INTO") && sql.includes("GROUP BY"));
    return { a, ran, folded };
  };

  it("a batch of INSERTs of distinct rows is not folded: its entries are its patches, in entry order", () => {
    const db = new Database(":memory:");
    db.exec(itemsDdl(true, "by-origin"));
    const { a, ran, folded } = recording(db);
    db.transaction(() => {
      db.prepare("INSERT INTO items (id, name, qty) VALUES (9, 'nine', 1)").run();
      db.prepare("INSERT INTO items (id, name) VALUES (4, NULL)").run();
      db.prepare("INSERT INTO items (id, price) VALUES (6, 1.5)").run();
    })();
    ran.length = 0;
    expect(a.flush()).toBe("1.3");
    expect(folded()).toBe(false);
    expect(patchesOf(db, "inline")).toEqual([
      [1, 9, "nine", 1, null, null, "price|deletedAt"],
      [2, 4, null, null, null, null, "name|qty|price|deletedAt"],
      [3, 6, null, null, 1.5, null, "name|qty|deletedAt"],
    ]);
    a.close();
  });

  it("a batch where a key is inserted twice (INSERT OR REPLACE), or a row is also updated, is folded: one patch per row", () => {
    for (const second of ["INSERT OR REPLACE INTO items (id, name) VALUES (1, 'again')", "UPDATE items SET name = 'again' WHERE id = 1"]) {
      const db = new Database(":memory:");
      db.exec(itemsDdl(true, "by-origin"));
      const { a, ran, folded } = recording(db);
      db.transaction(() => {
        db.prepare("INSERT INTO items (id, name, qty) VALUES (1, 'first', 5)").run();
        db.prepare("INSERT INTO items (id, name) VALUES (2, 'two')").run();
        db.prepare(second).run();
      })();
      ran.length = 0;
      expect(a.flush(), second).toBe("1.2");
      expect(folded(), second).toBe(true);
      const qty = second.startsWith("INSERT") ? null : 5; // REPLACE wrote a whole new row
      expect(patchesOf(db, "inline").map((r) => r.slice(0, 4)), second).toEqual([
        [1, 1, "again", qty],
        [2, 2, "two", null],
      ]);
      expect(db.prepare("SELECT id, name, qty FROM items ORDER BY id").raw().all(), second).toEqual([
        [1, "again", qty],
        [2, "two", null],
      ]);
      a.close();
    }
  });

  /** Patches of peer 1 above `after` with their stamps, as patchesOf gives them plus `_patchedAt`. */
  const stampedPatches = (db: Database.Database, nulls: "inline" | "side", after: number) => {
    const stamps = db.prepare("SELECT _patchedAt FROM items_patches WHERE _peerId = 1 AND _sequenceId > ? ORDER BY _sequenceId").pluck().all(after);
    return patchesOf(db, nulls)
      .filter((r) => (r[0] as number) > after)
      .map((r, i) => [...r, stamps[i]]);
  };

  for (const nulls of ["inline", "side"] as const) {
    it(`a batch of one-column UPDATEs, each row once, is not folded and gives the patches the fold gives (${nulls} NULLs)`, () => {
      // The same batch twice: as written, and with its first UPDATE run twice (same value), which makes row 4 fold.
      const drained = (twice: boolean) => {
        const db = new Database(":memory:");
        db.exec(itemsDdl(nulls === "inline", "by-origin"));
        const { a, ran, folded } = recording(db);
        db.prepare("INSERT INTO items (id, name, qty, price) VALUES (1, 'a', 1, 1.5), (2, 'b', 2, 2.5), (3, 'c', 3, 3.5), (4, 'd', 4, 4.5), (5, 'e', 5, 5.5)").run();
        expect(a.flush()).toBe("1.5");
        db.transaction(() => {
          for (let i = twice ? 0 : 1; i < 2; i++) db.prepare("UPDATE items SET qty = 10 WHERE id = 4").run();
          db.prepare("UPDATE items SET name = NULL WHERE id = 2").run();
          db.prepare("UPDATE items SET price = 9.5 WHERE id = 99").run(); // no row: nothing
          db.prepare("UPDATE items SET price = NULL WHERE id = 5").run();
          db.prepare("INSERT INTO items (id, name) VALUES (8, 'eight')").run();
          db.prepare("UPDATE items SET deletedAt = 7 WHERE id = 1").run();
        })();
        ran.length = 0;
        expect(a.flush()).toBe("1.10");
        const out = { folded: folded(), patches: stampedPatches(db, nulls, 5), queued: db.prepare("SELECT count(*) FROM _replic_captured_items").pluck().get() };
        a.close();
        return out;
      };
      const flat = drained(false);
      const folded = drained(true);
      expect([flat.folded, folded.folded]).toEqual([false, true]);
      expect(flat.patches.map((r) => r.slice(0, 7))).toEqual([
        [6, 4, null, 10, null, null, null],
        [7, 2, null, null, null, null, "name"],
        [8, 5, null, null, null, null, "price"],
        [9, 8, "eight", null, null, null, "qty|price|deletedAt"],
        [10, 1, null, null, null, 7, null],
      ]);
      // One stamp for the drain, later than the first drain's; the folded twin stores the same rows.
      expect(new Set(flat.patches.map((r) => r[7])).size).toBe(1);
      expect(flat.patches).toEqual(folded.patches);
      expect([flat.queued, folded.queued]).toEqual([0, 0]);
    });
  }

  it("a row updated twice, or in two columns by one UPDATE, is folded in one pass: one patch per row", () => {
    for (const [label, writes, expected] of [
      [
        "updated twice",
        ["UPDATE items SET qty = 1 WHERE id = 2", "UPDATE items SET name = 'x' WHERE id = 1", "UPDATE items SET qty = NULL WHERE id = 2"],
        [
          [3, 2, null, null, null, null, "qty"],
          [4, 1, "x", null, null, null, null],
        ],
      ],
      [
        "two columns",
        ["UPDATE items SET name = 'y', qty = NULL WHERE id = 1", "UPDATE items SET price = 0.5 WHERE id = 2"],
        [
          [3, 1, "y", null, null, null, "qty"],
          [4, 2, null, null, 0.5, null, null],
        ],
      ],
    ] as const) {
      const db = new Database(":memory:");
      db.exec(itemsDdl(true, "by-origin"));
      const { a, ran, folded } = recording(db);
      db.prepare("INSERT INTO items (id, name, qty) VALUES (1, 'a', 5), (2, 'b', 6)").run();
      a.flush();
      db.transaction(() => {
        for (const w of writes) db.prepare(w).run();
      })();
      ran.length = 0;
      expect(a.flush(), label).toBe("1.4");
      expect(folded(), label).toBe(true);
      // The fold runs once: no patches written by entry and taken back.
      expect(
        ran.filter((sql) => /^(INSERT INTO|DELETE FROM) "items_patches"/.test(sql)),
        label,
      ).toHaveLength(1);
      expect(patchesOf(db, "inline").slice(2), label).toEqual(expected);
      a.close();
    }
  });

  it("a key of two columns: rows sharing one key column are distinct rows (not folded); a row updated twice is folded", () => {
    for (const twice of [false, true]) {
      const db = new Database(":memory:");
      db.exec(`CREATE TABLE pairs (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, PRIMARY KEY (a, b));
CREATE TABLE pairs_patches (a INTEGER, b TEXT, v TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT);`);
      const { a, ran, folded } = recording(db);
      db.prepare("INSERT INTO pairs (a, b, v) VALUES (1, 'x', 'p'), (1, 'y', 'q'), (2, 'x', 'r')").run();
      a.flush();
      db.transaction(() => {
        db.prepare("UPDATE pairs SET v = 'X' WHERE a = 1 AND b = 'y'").run();
        db.prepare("UPDATE pairs SET v = NULL WHERE a = 1 AND b = 'x'").run();
        if (twice) db.prepare("UPDATE pairs SET v = 'Y' WHERE a = 1 AND b = 'y'").run();
      })();
      ran.length = 0;
      expect(a.flush()).toBe("1.5");
      expect(folded()).toBe(twice);
      expect(db.prepare("SELECT _sequenceId, a, b, v, _nulls FROM pairs_patches WHERE _sequenceId > 3 ORDER BY _sequenceId").raw().all()).toEqual([
        [4, 1, "y", twice ? "Y" : "X", null],
        [5, 1, "x", null, "v"],
      ]);
      a.close();
    }
  });

  it("what a linked neighbour receives from a drain is what was stored, explicit NULLs included", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare("INSERT INTO items (id, name, qty) VALUES (1, 'a', 2)").run();
    db.prepare("UPDATE items SET qty = NULL, name = 'b' WHERE id = 1").run();
    db.prepare("INSERT INTO items (id, name) VALUES (2, 'c')").run();
    a.flush();
    const sql = "SELECT id, name, qty, price FROM items ORDER BY id";
    expect(received(sql)).toEqual(db.prepare(sql).raw().all());
    expect(received(sql)).toEqual([
      [1, "b", null, null],
      [2, "c", null, null],
    ]);
    a.close();
  });

  it("a queue entry naming a key column, or no column of the table, fails the drain and changes nothing", () => {
    for (const col of [0, 42]) {
      const db = fresh();
      const a = open(db);
      db.prepare("INSERT INTO items (id, name) VALUES (1, 'a')").run();
      db.prepare(`INSERT INTO _replic_captured_items (_replic_col, id, name) VALUES (${col}, 1, 'x')`).run();
      let err: unknown;
      try {
        a.flush();
      } catch (e) {
        err = e;
      }
      expect(isReplicError(err) && err.code).toBe("SCHEMA_INVALID");
      expect(db.prepare("SELECT count(*) FROM _replic_captured_items").pluck().get()).toBe(2);
      expect(db.prepare("SELECT count(*) FROM items_patches").pluck().get()).toBe(0);
      expect(a.status().sequence).toBe(0);
      a.close();
    }
  });

  it("a backlog of several drain chunks drains whole, as one group", () => {
    const db = fresh();
    const a = open(db);
    // A transaction drains before and after its function: more than two chunks need the loop.
    const rows = 2 * DRAIN_CHUNK + 5;
    db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO items (id, name) SELECT i, 'r' FROM n`).run(rows);
    expect(a.flush()).toBe(`1.${rows}`);
    expect(db.prepare("SELECT count(*), count(DISTINCT _patchedAt), min(_sequenceId), max(_sequenceId) FROM items_patches").raw().get()).toEqual([rows, 1, 1, rows]);
    expect(db.prepare("SELECT count(*) FROM _replic_captured_items").pluck().get()).toBe(0);
    a.close();
  });

  it("a column whose name holds a quote keeps its explicit NULL", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare(`INSERT INTO q (k, "it's", other) VALUES ('a', 'x', 'y')`).run();
    a.flush();
    db.prepare(`UPDATE q SET "it's" = NULL WHERE k = 'a'`).run();
    a.flush();
    a.close();
    expect(db.prepare("SELECT cols FROM _replic_nulls WHERE seq = 2").pluck().get()).toBe("it's");
    const sql = `SELECT k, "it's", other FROM q`;
    expect(db.prepare(sql).raw().all()).toEqual([["a", null, "y"]]);
    expect(received(sql)).toEqual([["a", null, "y"]]);
  });

  it("a drain SQLite refuses names its table, fails, and changes nothing (set-wise and row by row)", () => {
    for (const [table, write] of [
      ["items", "INSERT INTO items (id, name) VALUES (1, 'a')"],
      ["blobs", "INSERT INTO blobs (k, b) VALUES ('k', 3.0)"],
    ] as const) {
      const db = fresh();
      const a = open(db);
      // Refuses what the drain writes and plain SQL did not: a patch row, or the written-back integer.
      db.exec(`CREATE TRIGGER refuse_patch BEFORE INSERT ON items_patches BEGIN SELECT RAISE(ABORT, 'refused'); END;
CREATE TRIGGER refuse_insert BEFORE INSERT ON blobs WHEN typeof(NEW.b) = 'integer' BEGIN SELECT RAISE(ABORT, 'refused'); END;
CREATE TRIGGER refuse_update BEFORE UPDATE ON blobs WHEN typeof(NEW.b) = 'integer' BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
      db.prepare(write).run();
      let err: unknown;
      try {
        a.flush();
      } catch (e) {
        err = e;
      }
      expect(isReplicError(err) && [err.code, err.message.includes(`"${table}"`)]).toEqual(["SQLITE", true]);
      expect(db.prepare(`SELECT count(*) FROM _replic_captured_${table}`).pluck().get()).toBe(1);
      expect(db.prepare(`SELECT count(*) FROM ${table}_patches`).pluck().get()).toBe(0);
      expect(a.status().sequence).toBe(0);
      a.close();
    }
  });

  it("a row written back by the drain stays the newest: an older remote patch of it does not replace it", () => {
    const db = fresh();
    const a = open(db);
    db.prepare("INSERT INTO blobs (k, b) VALUES ('k', 'local')").run();
    a.flush();
    // Peer 2 wrote the same row a second earlier.
    const b = createReplica(testDriver(fresh()), { peerId: 2, heartbeatMs: 0, now: () => WALL - 1000 });
    const out: Uint8Array[] = [];
    b.addPeer(1, (m) => out.push(m));
    b.upsert("blobs", { k: "k", b: "remote" });
    b.flush();
    for (const m of out) a.receive(2, m);
    expect(db.prepare("SELECT b FROM blobs").pluck().all()).toEqual(["local"]);
    a.close();
    b.close();
  });

  it("a sequence of ours already stored (another writer under our id) fails the drain; nothing is drained", () => {
    const db = fresh();
    const a = open(db);
    db.prepare("INSERT INTO items (id, name) VALUES (1, 'a')").run();
    // Written around replic: a patch under our peer id and the next sequence.
    db.prepare("INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (9, 'z', 1, 1, 1)").run();
    let err: unknown;
    try {
      a.flush();
    } catch (e) {
      err = e;
    }
    expect(isReplicError(err) && err.code).toBe("IDENTITY_CONFLICT");
    expect(db.prepare("SELECT count(*) FROM _replic_captured_items").pluck().get()).toBe(1);
    expect(db.prepare("SELECT _sequenceId, id FROM items_patches").raw().all()).toEqual([[1, 9]]);
  });
});
