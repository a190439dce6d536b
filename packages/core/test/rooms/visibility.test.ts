// The visibility room (src/visibility.ts, with row-constraints.ts and parked-rows.ts) through a
// replica: received rows that break NOT NULL, CHECK, UNIQUE or a foreign key are parked, durably,
// and shown as soon as they are valid; local writes that would break one fail as before.
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, patchesDdl, type ParkedEvent, type Replica } from "../../src/index.js";
import { timestampFromMs } from "../../src/clock.js";
import { PatchesEncoder } from "../../src/wire/encoder.js";
import type { SqlValue } from "../../src/driver.js";
import { testDriver } from "../helpers.js";

export const LIBRARY_DDL = `
CREATE TABLE authors (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE CHECK (email IS NULL OR instr(email, '@') > 0), deletedAt INTEGER);
CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT NOT NULL, authorId TEXT REFERENCES authors(id) ON DELETE CASCADE,
  pages INTEGER CHECK (pages > 0), kind TEXT NOT NULL DEFAULT 'book', deletedAt INTEGER);`;

const COLUMNS: Record<string, string[]> = {
  authors: ["id", "name", "email", "deletedAt"],
  books: ["id", "title", "authorId", "pages", "kind", "deletedAt"],
};

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function library(peerId: number, foreignKeys = false) {
  const d = testDriver();
  if (foreignKeys) d.exec("PRAGMA foreign_keys = ON");
  d.exec(LIBRARY_DDL);
  d.exec(patchesDdl(d, "authors"));
  d.exec(patchesDdl(d, "books"));
  const r = createReplica(d, { peerId, heartbeatMs: 0 });
  open.push(r);
  const events: ParkedEvent[] = [];
  r.on("parked", (e) => events.push(e));
  const rows = (table: string) => d.db.prepare(`SELECT * FROM ${table} ORDER BY id`).raw(true).all();
  return { d, r, events, rows, fkCheck: () => d.db.prepare("PRAGMA foreign_key_check").all() };
}

interface P {
  table: string;
  peer: number;
  seq: number;
  /** Milliseconds after T0: the patch order. */
  at: number;
  row: Record<string, SqlValue>;
}

const T0 = Date.now() - 60_000;

/** One patches message as a neighbour would send it. */
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
    e.add(ti, p.peer, p.seq, timestampFromMs(T0 + p.at), cols, cols.map((c) => p.row[names[c]!]!));
  }
  return e.finish();
}

function deliver(r: Replica, ...patches: P[]): void {
  r.receive(patches[0]!.peer, message(patches));
}

const author = (seq: number, at: number, row: Record<string, SqlValue>, peer = 7): P => ({ table: "authors", peer, seq, at, row });
const book = (seq: number, at: number, row: Record<string, SqlValue>, peer = 7): P => ({ table: "books", peer, seq, at, row });

describe("parking: incomplete", () => {
  it("a row without a value for a NOT NULL column is parked until a patch sets it, then shown whole", () => {
    const { r, rows, events } = library(1);
    deliver(r, book(1, 20, { id: "b1", pages: 5 }));
    expect(rows("books")).toEqual([]);
    expect(r.parked()).toEqual([{ table: "books", key: { id: "b1" }, reason: "incomplete", detail: "title" }]);
    expect(events).toEqual([{ table: "books", key: { id: "b1" }, reason: "incomplete", detail: "title", released: false }]);
    // An older patch fills the column: both patches' values show, the DEFAULT fills `kind`.
    deliver(r, book(2, 10, { id: "b1", title: "Dune", pages: 1 }));
    expect(rows("books")).toEqual([["b1", "Dune", null, 5, "book", null]]);
    expect(r.parked()).toEqual([]);
    expect(events[1]).toEqual({ table: "books", key: { id: "b1" }, reason: "incomplete", detail: "title", released: true });
  });

  it("a later value failing a CHECK takes a shown row out of T; a later valid one brings it back", () => {
    const { r, rows } = library(1);
    deliver(r, book(1, 10, { id: "b1", title: "Dune", pages: 5 }));
    expect(rows("books")).toEqual([["b1", "Dune", null, 5, "book", null]]);
    deliver(r, book(2, 20, { id: "b1", pages: -1 }));
    expect(rows("books")).toEqual([]);
    expect(r.parked("books")).toEqual([{ table: "books", key: { id: "b1" }, reason: "check", detail: "pages > 0" }]);
    deliver(r, book(3, 30, { id: "b1", pages: 7 }));
    expect(rows("books")).toEqual([["b1", "Dune", null, 7, "book", null]]);
  });
});

describe("parking: check", () => {
  it("a row failing a CHECK is parked with the expression; a later valid value releases it", () => {
    const { r, rows, events } = library(1);
    deliver(r, book(1, 10, { id: "b1", title: "Dune", pages: 0 }));
    expect(rows("books")).toEqual([]);
    expect(r.parked()).toEqual([{ table: "books", key: { id: "b1" }, reason: "check", detail: "pages > 0" }]);
    deliver(r, book(2, 20, { id: "b1", pages: 3 }));
    expect(rows("books")).toEqual([["b1", "Dune", null, 3, "book", null]]);
    expect(events.map((e) => e.released)).toEqual([false, true]);
  });

  it("a NULL passes a CHECK, as in SQLite", () => {
    const { r, rows } = library(1);
    deliver(r, book(1, 10, { id: "b1", title: "Dune", pages: null }));
    expect(rows("books")).toEqual([["b1", "Dune", null, null, "book", null]]);
  });
});

describe("parking: parent-missing", () => {
  for (const fk of [false, true]) {
    it(`a child before its parent waits for it (foreign_keys ${fk ? "ON" : "OFF"}), and leaves T when the parent does`, () => {
      const { r, rows, fkCheck, events } = library(1, fk);
      deliver(r, book(1, 10, { id: "b1", title: "Dune", authorId: "a1" }));
      expect(rows("books")).toEqual([]);
      expect(r.parked()).toEqual([{ table: "books", key: { id: "b1" }, reason: "parent-missing", detail: "authors" }]);
      deliver(r, author(2, 5, { id: "a1", name: "Frank" }));
      expect(rows("books")).toEqual([["b1", "Dune", "a1", null, "book", null]]);
      expect(r.parked()).toEqual([]);
      // The parent becomes invalid (a write its CHECK refuses): the child goes too, and no
      // ON DELETE CASCADE fires (the child is parked, not deleted).
      deliver(r, author(3, 20, { id: "a1", email: "nobody" }));
      expect(rows("authors")).toEqual([]);
      expect(rows("books")).toEqual([]);
      expect(r.parked()).toEqual([
        { table: "authors", key: { id: "a1" }, reason: "check", detail: "email IS NULL OR instr(email, '@') > 0" },
        { table: "books", key: { id: "b1" }, reason: "parent-missing", detail: "authors" },
      ]);
      expect(fkCheck()).toEqual([]);
      deliver(r, author(4, 30, { id: "a1", email: "f@h" }));
      expect(rows("books")).toEqual([["b1", "Dune", "a1", null, "book", null]]);
      expect(r.parked()).toEqual([]);
      expect(events.filter((e) => e.table === "books").map((e) => e.released)).toEqual([false, true, false, true]);
    });
  }

  it("children of a soft-deleted parent stay shown: the parent row is still there", () => {
    const { r, rows } = library(1, true);
    deliver(r, author(1, 5, { id: "a1", name: "Frank" }), book(2, 10, { id: "b1", title: "Dune", authorId: "a1" }));
    deliver(r, author(3, 20, { id: "a1", deletedAt: 99 }));
    expect(rows("books")).toEqual([["b1", "Dune", "a1", null, "book", null]]);
    expect(r.parked()).toEqual([]);
  });

  it("a row referencing itself is shown", () => {
    const d = testDriver();
    d.exec("PRAGMA foreign_keys = ON");
    d.exec("CREATE TABLE staff (id TEXT PRIMARY KEY, boss TEXT REFERENCES staff(id))");
    d.exec(patchesDdl(d, "staff"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    r.upsert("staff", { id: "s1", boss: "s1" });
    r.upsert("staff", { id: "s2", boss: "s1" });
    expect(d.db.prepare("SELECT id, boss FROM staff ORDER BY id").raw(true).all()).toEqual([
      ["s1", "s1"],
      ["s2", "s1"],
    ]);
    expect(r.parked()).toEqual([]);
  });
});

describe("parking: unique", () => {
  it("the row whose claiming write is earliest keeps the value, whatever order the patches arrive in", () => {
    const claims = [author(1, 10, { id: "a1", name: "A", email: "x@" }, 7), author(1, 5, { id: "a2", name: "B", email: "x@" }, 8)];
    const results = [claims, [...claims].reverse()].map((order) => {
      const { r, rows } = library(1);
      for (const p of order) deliver(r, p);
      return { rows: rows("authors"), parked: r.parked() };
    });
    expect(results[0]).toEqual(results[1]);
    expect(results[0]!.rows).toEqual([["a2", "B", "x@", null]]);
    expect(results[0]!.parked).toEqual([{ table: "authors", key: { id: "a1" }, reason: "unique", detail: "authors.email" }]);
  });

  it("the value freed, the parked row takes it; its children come with it", () => {
    const { r, rows, fkCheck } = library(1, true);
    deliver(r, author(1, 5, { id: "a2", name: "B", email: "x@" }, 8));
    deliver(r, author(1, 10, { id: "a1", name: "A", email: "x@" }), book(2, 11, { id: "b1", title: "T", authorId: "a1" }));
    expect(r.parked().map((p) => [p.key.id, p.reason])).toEqual([
      ["a1", "unique"],
      ["b1", "parent-missing"],
    ]);
    deliver(r, author(2, 20, { id: "a2", email: "y@" }, 8));
    expect(rows("authors")).toEqual([
      ["a1", "A", "x@", null],
      ["a2", "B", "y@", null],
    ]);
    expect(rows("books")).toEqual([["b1", "T", "a1", null, "book", null]]);
    expect(r.parked()).toEqual([]);
    expect(fkCheck()).toEqual([]);
  });

  it("a shown row loses its value to an earlier claim received late, and its children go with it", () => {
    const { r, rows, fkCheck } = library(1, true);
    deliver(r, author(1, 10, { id: "a1", name: "A", email: "x@" }), book(2, 11, { id: "b1", title: "T", authorId: "a1" }));
    deliver(r, author(1, 5, { id: "a2", name: "B", email: "x@" }, 8));
    expect(rows("authors")).toEqual([["a2", "B", "x@", null]]);
    expect(rows("books")).toEqual([]);
    expect(r.parked().map((p) => [p.key.id, p.reason])).toEqual([
      ["a1", "unique"],
      ["b1", "parent-missing"],
    ]);
    expect(fkCheck()).toEqual([]);
  });

  it("a chain (a takes b's old value while b takes c's) resolves the same in every order", () => {
    const base = [author(1, 1, { id: "a", name: "a", email: "1@" }), author(2, 2, { id: "b", name: "b", email: "2@" }), author(3, 3, { id: "c", name: "c", email: "3@" })];
    const moves = [author(1, 10, { id: "a", email: "2@" }, 8), author(1, 11, { id: "b", email: "3@" }, 9)];
    const orders = [
      [...base, ...moves],
      [...base, moves[1]!, moves[0]!],
      [moves[1]!, moves[0]!, ...base.reverse()],
    ];
    const out = orders.map((o) => {
      const { r, rows } = library(1);
      for (const p of o) deliver(r, p);
      return JSON.stringify([rows("authors"), r.parked()]);
    });
    expect(new Set(out).size).toBe(1);
    // b's claim on "3@" (at 11) is later than c's (at 3): b is parked. "2@" is claimed by a alone
    // (b's row claims "3@" now): a shows, with "2@".
    expect(JSON.parse(out[0]!)).toEqual([
      [
        ["a", "a", "2@", null],
        ["c", "c", "3@", null],
      ],
      [{ table: "authors", key: { id: "b" }, reason: "unique", detail: "authors.email" }],
    ]);
  });
});

describe("local writes", () => {
  it("a write that would break a constraint fails with SQLite's constraint error and writes nothing", () => {
    const { r, rows, d } = library(1);
    expect(() => r.upsert("books", { id: "b1", pages: 3 })).toThrow(expect.objectContaining({ code: "CONSTRAINT", message: expect.stringContaining("NOT NULL constraint failed: books.title") }));
    expect(() => r.upsert("books", { id: "b1", title: "T", pages: 0 })).toThrow(expect.objectContaining({ code: "CONSTRAINT", message: expect.stringContaining("CHECK constraint failed") }));
    expect(() => r.upsert("books", { id: "b1", title: "T", authorId: "zz" })).toThrow(expect.objectContaining({ code: "CONSTRAINT", message: expect.stringContaining("FOREIGN KEY") }));
    expect(rows("books")).toEqual([]);
    expect(d.db.prepare("SELECT count(*) FROM books_patches").pluck().get()).toBe(0);
    expect(r.status().sequence).toBe(0);
    expect(r.parked()).toEqual([]);
    // Inside a transaction: the caller may catch it and go on.
    r.transaction(() => {
      expect(() => r.upsert("books", { id: "b2" })).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
      r.upsert("books", { id: "b3", title: "ok" });
    });
    expect(rows("books")).toEqual([["b3", "ok", null, null, "book", null]]);
    expect(d.db.prepare("SELECT count(*) FROM books_patches").pluck().get()).toBe(1);
  });

  it("a row parked as incomplete claims nothing: its value may be taken locally", () => {
    const { r } = library(1);
    deliver(r, author(1, 5, { id: "a1", email: "x@" }), book(2, 6, { id: "b1", title: "T", authorId: "a1" }));
    expect(r.parked().map((p) => p.reason)).toEqual(["incomplete", "parent-missing"]);
    // a1 fails NOT NULL, so it claims nothing: the value is free.
    r.upsert("authors", { id: "a9", name: "Z", email: "x@" });
    expect(r.parked().map((p) => p.key.id)).toEqual(["a1", "b1"]);
  });

  it("a local write completing a parked row shows it, and its children", () => {
    const { r, rows, events } = library(1);
    deliver(r, author(1, 5, { id: "a1", email: "x@" }), book(2, 6, { id: "b1", title: "T", authorId: "a1" }));
    expect(r.parked().map((p) => p.reason)).toEqual(["incomplete", "parent-missing"]);
    r.upsert("authors", { id: "a1", name: "A" });
    expect(rows("authors")).toEqual([["a1", "A", "x@", null]]);
    expect(rows("books")).toEqual([["b1", "T", "a1", null, "book", null]]);
    expect(events.slice(-2).map((e) => [e.key.id, e.released])).toEqual([
      ["a1", true],
      ["b1", true],
    ]);
    expect(r.metrics()).toMatch(/^replic_rows_released_total 2$/m);
  });

  it("a transaction that throws after releasing a row releases nothing and reports nothing", () => {
    const { r, rows, events } = library(1);
    deliver(r, book(1, 10, { id: "b1", pages: 2 }));
    expect(events.length).toBe(1);
    expect(() =>
      r.transaction(() => {
        r.upsert("books", { id: "b1", title: "T" });
        expect(rows("books")).toEqual([["b1", "T", null, 2, "book", null]]);
        throw new Error("changed my mind");
      }),
    ).toThrow("changed my mind");
    expect(rows("books")).toEqual([]);
    r.upsert("authors", { id: "a1", name: "A" });
    expect(events.length).toBe(1);
    expect(r.parked()).toEqual([{ table: "books", key: { id: "b1" }, reason: "incomplete", detail: "title" }]);
  });
});

describe("status, metrics, durability", () => {
  it("status() and metrics() count parked rows per table and reason", () => {
    const { r } = library(1);
    deliver(r, book(1, 10, { id: "b1" }), book(2, 10, { id: "b2" }), book(3, 10, { id: "b3", title: "x", pages: -1 }));
    expect(r.status().parkedRows).toEqual([
      { table: "books", reason: "check", rows: 1 },
      { table: "books", reason: "incomplete", rows: 2 },
    ]);
    const text = r.metrics();
    expect(text).toContain('replic_parked_rows{table="books",reason="incomplete"} 2');
    expect(text).toContain('replic_parked_rows{table="books",reason="check"} 1');
    expect(text).toMatch(/replic_rows_parked_total 3/);
  });

  it("parked rows survive a restart, and are released after it", () => {
    const d = testDriver();
    d.exec(LIBRARY_DDL);
    d.exec(patchesDdl(d, "authors"));
    d.exec(patchesDdl(d, "books"));
    let r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    deliver(r, book(1, 10, { id: "b1", authorId: "a1", title: "T" }));
    r.close();
    r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    expect(r.parked()).toEqual([{ table: "books", key: { id: "b1" }, reason: "parent-missing", detail: "authors" }]);
    deliver(r, author(2, 5, { id: "a1", name: "A" }));
    expect(r.parked()).toEqual([]);
    expect(d.db.prepare("SELECT id FROM books").pluck().all()).toEqual(["b1"]);
  });

  it("collection keeps a parked row's patches until it is shown", () => {
    const d = testDriver();
    d.exec(LIBRARY_DDL);
    d.exec(patchesDdl(d, "authors"));
    d.exec(patchesDdl(d, "books"));
    let now = T0 + 100;
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0, retentionMs: 1000, now: () => now });
    open.push(r);
    deliver(r, book(1, 10, { id: "b1", pages: 5 }), book(2, 20, { id: "b2", title: "x" }));
    now = T0 + 100_000;
    expect(r.gc()).toBe(0);
    expect(d.db.prepare("SELECT count(*) FROM books_patches").pluck().get()).toBe(2);
    deliver(r, book(3, 30, { id: "b1", title: "T" }));
    expect(d.db.prepare("SELECT * FROM books WHERE id = 'b1'").raw(true).all()).toEqual([["b1", "T", null, 5, "book", null]]);
    expect(r.gc()).toBe(3);
    // Shown rows keep their values once their patches are collected; a later patch merges onto them.
    deliver(r, book(4, 100_000, { id: "b1", pages: 6 }));
    expect(d.db.prepare("SELECT * FROM books WHERE id = 'b1'").raw(true).all()).toEqual([["b1", "T", null, 6, "book", null]]);
    expect(r.parked()).toEqual([]);
  });

  it("tables without constraints are merged as before: nothing parked, nothing checked", () => {
    const d = testDriver();
    d.exec("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)");
    d.exec(patchesDdl(d, "notes"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    expect(r.parked("notes")).toEqual([]);
    expect(() => r.parked("nope")).toThrow(expect.objectContaining({ code: "UNKNOWN_TABLE" }));
  });
});

describe("the merger hands rows of tables with constraints over", () => {
  it("queue, merge and rebuild give the key to the guard and leave T alone; writeRow and deleteRow write T", async () => {
    const { Catalog } = await import("../../src/catalog.js");
    const { enginePatch } = await import("../helpers.js");
    const d = testDriver();
    d.exec(LIBRARY_DDL);
    d.exec(patchesDdl(d, "authors"));
    d.exec(patchesDdl(d, "books"));
    d.exec("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)");
    d.exec(patchesDdl(d, "notes"));
    const catalog = new Catalog(d);
    const books = catalog.get("books");
    const notes = catalog.get("notes");
    expect(notes.rows.guard).toBeUndefined(); // no constraint, not referenced: merged as before
    expect(catalog.get("authors").rows.guard).toBeDefined(); // referenced by books
    const keys: SqlValue[][] = [];
    books.rows.guard = (k) => keys.push(k);
    const p = enginePatch(books, 7, 1, 100, { id: "b1", pages: 2 });
    books.rows.queue(p, true);
    books.rows.merge(p, false);
    books.rows.rebuild(["b2"], true);
    books.rows.flush();
    expect(keys).toEqual([["b1"], ["b1"], ["b2"]]);
    expect(d.db.prepare("SELECT count(*) FROM books").pluck().get()).toBe(0);
    books.rows.writeRow([0, 1], ["b1", "Dune"]);
    expect(d.db.prepare("SELECT id, title, kind FROM books").raw(true).all()).toEqual([["b1", "Dune", "book"]]);
    books.rows.deleteRow(["b1"]);
    expect(d.db.prepare("SELECT count(*) FROM books").pluck().get()).toBe(0);
    notes.rows.merge(enginePatch(notes, 7, 2, 100, { id: "n1", body: "x" }), true);
    expect(d.db.prepare("SELECT id, body FROM notes").raw(true).all()).toEqual([["n1", "x"]]);
  });
});

describe("received batches", () => {
  it("count rows parked and released once per row, net of a row parked and released in one batch", () => {
    const { r } = library(1);
    // Parked and released within one message: no change counted.
    deliver(r, book(1, 10, { id: "b1", title: "T", authorId: "a1" }), author(2, 5, { id: "a1", name: "A" }));
    expect(r.parked()).toEqual([]);
    deliver(r, book(3, 20, { id: "b2", pages: 1 }));
    deliver(r, book(4, 30, { id: "b2", title: "U" }));
    const text = r.metrics();
    expect(text).toMatch(/^replic_rows_parked_total 1$/m);
    expect(text).toMatch(/^replic_rows_released_total 1$/m);
  });

  it("a rolled-back transaction leaves no row to settle behind (discard)", async () => {
    const { Catalog } = await import("../../src/catalog.js");
    const d = testDriver();
    d.exec(LIBRARY_DDL);
    d.exec(patchesDdl(d, "authors"));
    d.exec(patchesDdl(d, "books"));
    const v = new Catalog(d).visibility;
    expect(v.pendingRows).toBe(false);
    d.exec(`INSERT INTO books_patches (id, pages, _patchedAt, _sequenceId, _peerId) VALUES ('b1', 2, 100, 1, 7)`);
    v.note(v.rulesOf("books")!, ["b1"]);
    expect(v.pendingRows).toBe(true);
    v.discard();
    expect(v.pendingRows).toBe(false);
    v.settle();
    expect(v.take()).toEqual([]);
    v.note(v.rulesOf("books")!, ["b1"]);
    v.settle();
    expect(v.take()).toEqual([{ table: "books", key: { id: "b1" }, reason: "incomplete", detail: "title", released: false }]);
    expect(v.take()).toEqual([]);
  });
});

describe("the fast path of a received batch", () => {
  function spied(foreignKeys: boolean) {
    const d = testDriver();
    const execs: string[] = [];
    const exec = d.exec;
    d.exec = (sql) => (execs.push(sql), exec(sql));
    d.exec(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`);
    d.exec(LIBRARY_DDL);
    d.exec(patchesDdl(d, "authors"));
    d.exec(patchesDdl(d, "books"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    const fast = () => execs.filter((x) => x.includes("replic_fast"));
    return { d, r, fast, execs };
  }

  it("valid rows with foreign keys enforced and nothing parked: SQLite checks the batch, under a savepoint", () => {
    const { d, r, fast } = spied(true);
    deliver(r, author(1, 5, { id: "a1", name: "A", email: "x@" }), book(2, 6, { id: "b1", title: "T", authorId: "a1", pages: 2 }));
    expect(fast()).toEqual(["SAVEPOINT replic_fast", "RELEASE replic_fast"]);
    expect(d.db.prepare("SELECT id FROM books").pluck().all()).toEqual(["b1"]);
    // A conflict: SQLite refuses, the savepoint is undone, the rows are checked one by one.
    deliver(r, author(3, 7, { id: "a2", name: "B", email: "x@" }));
    expect(fast().slice(2)).toEqual(["SAVEPOINT replic_fast", "ROLLBACK TO replic_fast", "RELEASE replic_fast"]);
    expect(r.parked()).toEqual([{ table: "authors", key: { id: "a2" }, reason: "unique", detail: "authors.email" }]);
    // With a row parked, every batch is checked row by row (a parked row may claim a value).
    deliver(r, author(4, 8, { id: "a3", name: "C", email: "z@" }));
    expect(fast().length).toBe(5);
    expect(d.db.prepare("SELECT id FROM authors ORDER BY id").pluck().all()).toEqual(["a1", "a3"]);
  });

  it("parents are merged before their children, whatever the order in the message", () => {
    const { d, r, fast } = spied(true);
    deliver(r, book(1, 6, { id: "b1", title: "T", authorId: "a1" }), author(2, 5, { id: "a1", name: "A" }));
    expect(fast()).toEqual(["SAVEPOINT replic_fast", "RELEASE replic_fast"]);
    expect(d.db.prepare("SELECT id FROM books").pluck().all()).toEqual(["b1"]);
    expect(r.parked()).toEqual([]);
  });

  it("foreign keys not enforced: rows are checked one by one (SQLite would not check the parent)", () => {
    const { d, r, fast } = spied(false);
    deliver(r, book(1, 6, { id: "b1", title: "T", authorId: "a1" }));
    expect(fast()).toEqual([]);
    expect(d.db.prepare("SELECT count(*) FROM books").pluck().get()).toBe(0);
    expect(r.parked().map((p) => p.reason)).toEqual(["parent-missing"]);
  });

  it("a CHECK is evaluated on a row of the table's declared column types (affinity applied first, as SQLite does)", () => {
    const d = testDriver();
    d.exec("CREATE TABLE m (id TEXT PRIMARY KEY, n NUMERIC CHECK (n < 10))");
    d.exec(patchesDdl(d, "m"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    r.upsert("m", { id: "a", n: 5 });
    expect(() => r.upsert("m", { id: "b", n: 12 })).toThrow(expect.objectContaining({ code: "CONSTRAINT", message: expect.stringContaining("CHECK constraint failed: n < 10") }));
    expect(d.db.prepare("SELECT id, n FROM m").raw(true).all()).toEqual([["a", 5]]);
  });
});

describe("local batches", () => {
  it("a key written twice in one upsertMany is checked write by write, as SQLite checks statements", () => {
    const { r, rows } = library(1);
    expect(() =>
      r.upsertMany("books", [
        { id: "b1", title: "T", pages: -1 },
        { id: "b1", pages: 3 },
      ]),
    ).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
    expect(rows("books")).toEqual([]);
    r.transaction(() => {
      expect(() =>
        r.upsertMany("books", [
          { id: "b2", title: "T", pages: -1 },
          { id: "b2", pages: 3 },
        ]),
      ).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
    });
    expect(rows("books")).toEqual([]);
  });

  it("rows of one batch are checked together: two rows swap their unique values in one upsertMany", () => {
    const { r, rows } = library(1);
    r.upsertMany("authors", [
      { id: "a1", name: "A", email: "x@" },
      { id: "a2", name: "B", email: "y@" },
    ]);
    r.upsertMany("authors", [
      { id: "a1", email: "y@" },
      { id: "a2", email: "x@" },
    ]);
    expect(rows("authors")).toEqual([
      ["a1", "A", "y@", null],
      ["a2", "B", "x@", null],
    ]);
    // A child written before its parent is refused: each call is checked when it is made.
    expect(() => r.upsert("books", { id: "b1", title: "T", authorId: "a3" })).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
  });

  it("a failed batch inside a transaction names no row of its table in the merge event", () => {
    const { r } = library(1);
    const merges: string[][] = [];
    r.on("merge", (e) => merges.push(Object.keys(e.keys)));
    r.transaction(() => {
      r.upsert("authors", { id: "a1", name: "A" });
      expect(() => r.upsertMany("books", [{ id: "b1", pages: 2 }])).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
    });
    expect(merges).toEqual([["authors"]]);
  });
});
