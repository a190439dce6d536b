// Divergence: rows of T changed around replic are found by the scrub of heartbeat rounds (a
// bounded slice per round), reported (event, metric, status) and rebuilt from their patches by
// rebuild() or repair: "rebuild"; rows that break a constraint stay parked through a rebuild.
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, openRowRecompute, patchesDdl, type DivergenceEvent, type Replica, type ReplicaOptions } from "../src/index.js";
import { testDriver } from "./helpers.js";

const LIBRARY_DDL = `
CREATE TABLE authors (id TEXT PRIMARY KEY, name TEXT NOT NULL, deletedAt INTEGER);
CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT NOT NULL, authorId TEXT REFERENCES authors(id), pages INTEGER CHECK (pages > 0), deletedAt INTEGER);`;

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

const ITEMS = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER DEFAULT 7, deletedAt INTEGER);`;

function items(options: ReplicaOptions = {}) {
  const d = testDriver();
  d.exec(ITEMS);
  d.exec(patchesDdl(d, "items"));
  d.exec("CREATE TABLE notes (k TEXT, n INTEGER, body TEXT, PRIMARY KEY (k, n))");
  d.exec(patchesDdl(d, "notes"));
  const r = createReplica(d, { peerId: 1, heartbeatMs: 0, ...options });
  open.push(r);
  const events: DivergenceEvent[] = [];
  r.on("divergence", (e) => events.push(e));
  const rows = (table = "items") => d.db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all() as Record<string, unknown>[];
  return { d, r, events, rows };
}

/** Rounds until the scrub has walked everything once (two walks per table). */
function rounds(r: Replica, n: number): void {
  for (let i = 0; i < n; i++) r.tick();
}

describe("rebuild()", () => {
  it("puts back values changed, rows deleted and rows inserted around replic, and reports them", () => {
    const { d, r, rows } = items({ scrub: { rowsPerRound: 0 } });
    r.upsertMany(
      "items",
      Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `n${i + 1}` })),
    );
    r.upsert("items", { id: 3, deletedAt: 99 }); // a soft delete stays a soft delete
    r.upsert("notes", { k: "a", n: 1, body: "x" });
    const good = rows();
    d.exec("UPDATE items SET name = 'tampered' WHERE id = 5");
    d.exec("UPDATE items SET deletedAt = NULL WHERE id = 3");
    d.exec("DELETE FROM items WHERE id = 9");
    d.exec("INSERT INTO items (id, name) VALUES (100, 'unpatched')"); // no patch names it: left alone
    d.exec("UPDATE notes SET body = 'y'");
    const report = r.rebuild(undefined, { batchSize: 3 });
    const byTable = Object.fromEntries(report.map((x) => [x.table, x]));
    expect(byTable.items).toEqual({ table: "items", changed: 3, inserted: 1, updated: 2, removed: 0, keys: [{ id: 3 }, { id: 5 }, { id: 9 }] });
    expect(byTable.notes).toEqual({ table: "notes", changed: 1, inserted: 0, updated: 1, removed: 0, keys: [{ k: "a", n: 1 }] });
    expect(rows()).toEqual([...good, { id: 100, name: "unpatched", qty: 7, deletedAt: null }]);
    // A second rebuild finds nothing to change.
    expect(r.rebuild().map((x) => x.changed)).toEqual([0, 0]);
    expect(r.metrics()).toMatch(/^replic_rows_rebuilt_total 4$/m);
  });

  it("keeps explicit NULLs and the values of columns no patch set", () => {
    const { d, r, rows } = items({ scrub: { rowsPerRound: 0 } });
    r.upsert("items", { id: 1, name: "a" });
    r.upsert("items", { id: 1, name: null });
    d.exec("UPDATE items SET name = 'b', qty = 8 WHERE id = 1"); // qty: no patch set it (DEFAULT)
    expect(r.rebuild("items")[0]!.updated).toBe(1);
    expect(rows()).toEqual([{ id: 1, name: null, qty: 8, deletedAt: null }]);
  });

  it("emits a merge event naming the rows it rewrote", () => {
    const { d, r } = items({ scrub: { rowsPerRound: 0 } });
    r.upsert("items", { id: 1, name: "a" });
    d.exec("UPDATE items SET name = 'b'");
    const merges: unknown[] = [];
    r.on("merge", (e) => merges.push(e));
    r.rebuild("items");
    expect(merges).toEqual([{ local: false, patches: 0, tables: ["items"], keys: { items: [[1]] } }]);
  });

  it("refuses an unknown table, bad options and a call inside transaction(), changing nothing", () => {
    const { d, r, rows } = items({ scrub: { rowsPerRound: 0 } });
    r.upsert("items", { id: 1, name: "a" });
    d.exec("UPDATE items SET name = 'b'");
    expect(() => r.rebuild("nope")).toThrow(expect.objectContaining({ code: "UNKNOWN_TABLE" }));
    expect(() => r.rebuild("items", { batchSize: 0 })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => r.rebuild("items", { maxKeys: -1 })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => r.transaction(() => r.rebuild("items"))).toThrow(expect.objectContaining({ code: "TRANSACTION" }));
    expect(rows()).toEqual([{ id: 1, name: "b", qty: 7, deletedAt: null }]);
  });

  it("lists at most maxKeys keys but counts every row", () => {
    const { d, r } = items({ scrub: { rowsPerRound: 0 } });
    r.upsertMany(
      "items",
      Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: "a" })),
    );
    d.exec("UPDATE items SET name = 'b'");
    const [rep] = r.rebuild("items", { maxKeys: 2 });
    expect(rep!.changed).toBe(10);
    expect(rep!.keys).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it("on a table with constraints: parked rows stay parked, a parked row put into T by hand is taken out", () => {
    const d = testDriver();
    d.exec(LIBRARY_DDL);
    d.exec(patchesDdl(d, "authors"));
    d.exec(patchesDdl(d, "books"));
    // The writer's schema lacks the NOT NULL on title, so a book without title is written there.
    const w = testDriver();
    w.exec(LIBRARY_DDL.replace("title TEXT NOT NULL", "title TEXT"));
    w.exec(patchesDdl(w, "authors"));
    w.exec(patchesDdl(w, "books"));
    const wr = createReplica(w, { peerId: 2, heartbeatMs: 0 });
    open.push(wr);
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0, scrub: { rowsPerRound: 0 } });
    open.push(r);
    wr.addPeer(1, (m) => r.receive(2, m));
    wr.upsert("authors", { id: "a1", name: "Ann" });
    wr.upsert("books", { id: "b1", authorId: "a1", pages: 10 }); // no title: parked on r
    wr.upsert("books", { id: "b2", title: "T", authorId: "a1", pages: 5 });
    expect(r.parked().map((p) => [p.key, p.reason])).toEqual([[{ id: "b1" }, "incomplete"]]);
    const shown = d.db.prepare("SELECT * FROM books ORDER BY id").all();
    expect(r.rebuild().every((x) => x.changed === 0)).toBe(true);
    expect(r.parked().map((p) => p.key)).toEqual([{ id: "b1" }]);
    expect(d.db.prepare("SELECT * FROM books ORDER BY id").all()).toEqual(shown);
    // Direct SQL shows the parked row and changes a shown one: the rebuild takes the first out and puts the second back.
    d.exec("INSERT INTO books (id, title, authorId, pages) VALUES ('b1', 'forced', 'a1', 10)");
    d.exec("UPDATE books SET pages = 99 WHERE id = 'b2'");
    const parkedEvents: unknown[] = [];
    r.on("parked", (e) => parkedEvents.push(e));
    const rep = r.rebuild("books").find((x) => x.table === "books")!;
    expect(rep).toMatchObject({ changed: 2, removed: 1, updated: 1, inserted: 0 });
    expect(d.db.prepare("SELECT * FROM books ORDER BY id").all()).toEqual(shown);
    expect(r.parked().map((p) => p.key)).toEqual([{ id: "b1" }]);
    expect(parkedEvents).toEqual([]); // b1 was parked before and after: no change of parking
  });
});

describe("the scrub", () => {
  it("finds a row changed by direct SQL within a few rounds, names table, key and kind, and reports it until rebuilt", () => {
    const { d, r, events, rows } = items({ scrub: { rowsPerRound: 10 } });
    r.upsertMany(
      "items",
      Array.from({ length: 30 }, (_, i) => ({ id: i + 1, name: `n${i + 1}` })),
    );
    const good = rows();
    rounds(r, 8); // everything walked once: nothing found
    expect(events).toEqual([]);
    d.exec("UPDATE items SET name = 'tampered' WHERE id = 17");
    rounds(r, 8);
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual({ table: "items", kind: "changed", keys: [{ id: 17 }], range: { from: { id: 17 }, to: { id: 17 } }, repaired: false });
    expect(r.status().divergent).toEqual([{ table: "items", rows: 1 }]);
    expect(r.metrics()).toMatch(/^replic_divergent_rows\{table="items"\} 1$/m);
    // Reported once: later rounds re-check it and keep it in status, without a new event.
    rounds(r, 8);
    expect(events).toHaveLength(1);
    expect(r.status().divergent).toEqual([{ table: "items", rows: 1 }]);
    expect(r.rebuild("items")[0]!.keys).toEqual([{ id: 17 }]);
    expect(r.status().divergent).toEqual([]);
    expect(rows()).toEqual(good);
    expect(r.metrics()).not.toMatch(/^replic_divergent_rows\{/m);
  });

  it("finds a hard-deleted row (missing) and a row put back by hand is forgotten at the next re-check", () => {
    const { d, r, events } = items({ scrub: { rowsPerRound: 50 } });
    r.upsertMany(
      "items",
      Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: "x" })),
    );
    d.exec("DELETE FROM items WHERE id IN (2, 4)");
    rounds(r, 2);
    expect(events.map((e) => [e.kind, e.keys])).toEqual([["missing", [{ id: 2 }, { id: 4 }]]]);
    expect(events[0]!.range).toEqual({ from: { id: 2 }, to: { id: 4 } });
    expect(r.status().divergent).toEqual([{ table: "items", rows: 2 }]);
    d.exec("INSERT INTO items (id, name) VALUES (2, 'x'), (4, 'x')");
    r.tick();
    expect(r.status().divergent).toEqual([]);
  });

  it("repairs by itself with repair: \"rebuild\"", () => {
    const { d, r, events, rows } = items({ scrub: { rowsPerRound: 100 }, repair: "rebuild" });
    r.upsertMany(
      "items",
      Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: "x" })),
    );
    const good = rows();
    d.exec("UPDATE items SET qty = 1, name = 'y' WHERE id = 3");
    r.tick();
    expect(events.map((e) => [e.kind, e.keys, e.repaired])).toEqual([["changed", [{ id: 3 }], true]]);
    // qty was never set by a patch: it keeps the value given by hand; name is put back.
    expect(rows()).toEqual(good.map((row) => (row.id === 3 ? { ...row, qty: 1 } : row)));
    expect(r.status().divergent).toEqual([]);
  });

  it("checks at most rowsPerRound keys per round, whatever the table's size", () => {
    const { r } = items({ scrub: { rowsPerRound: 7 } });
    r.upsertMany(
      "items",
      Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: "x" })),
    );
    const scrubbed = () => Number(/^replic_scrubbed_rows_total (\d+)$/m.exec(r.metrics())![1]);
    for (let i = 1; i <= 5; i++) {
      r.tick();
      expect(scrubbed()).toBe(7 * i);
    }
  });

  it("walks every table and wraps around", () => {
    const { d, r, events } = items({ scrub: { rowsPerRound: 3 } });
    r.upsertMany(
      "items",
      Array.from({ length: 4 }, (_, i) => ({ id: i + 1, name: "x" })),
    );
    r.upsert("notes", { k: "a", n: 1, body: "x" });
    rounds(r, 10);
    d.exec("UPDATE items SET name = 'y' WHERE id = 1");
    d.exec("UPDATE notes SET body = 'y'");
    rounds(r, 10);
    expect(events.map((e) => [e.table, e.keys])).toEqual(
      expect.arrayContaining([
        ["items", [{ id: 1 }]],
        ["notes", [{ k: "a", n: 1 }]],
      ]),
    );
    expect(events).toHaveLength(2);
  });

  it("is off with rowsPerRound 0, and refuses bad options", () => {
    const { d, r, events } = items({ scrub: { rowsPerRound: 0 } });
    r.upsert("items", { id: 1, name: "x" });
    d.exec("UPDATE items SET name = 'y'");
    rounds(r, 5);
    expect(events).toEqual([]);
    for (const bad of [{ scrub: { rowsPerRound: -1 } }, { scrub: { rowsPerRound: 1.5 } }, { scrub: { rows: 1 } }, { repair: "fix" }]) {
      expect(() => createReplica(testDriver(), bad as ReplicaOptions)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    }
  });

  it("does not report captured writes waiting for their drain", () => {
    const { d, r, events } = items({ capture: ["items"], scrub: { rowsPerRound: 100 } });
    r.upsert("items", { id: 1, name: "x" });
    d.exec("UPDATE items SET name = 'captured'");
    rounds(r, 3);
    expect(events).toEqual([]);
    expect(d.db.prepare("SELECT name FROM items").pluck().get()).toBe("captured");
  });
});

describe("the scrub across migrations", () => {
  it("a column added with a DEFAULT is not a divergence; a migration that rewrites rows in SQL is, and the scrub goes on after it", () => {
    const d = testDriver();
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0, scrub: { rowsPerRound: 100 } });
    open.push(r);
    const events: DivergenceEvent[] = [];
    r.on("divergence", (e) => events.push(e));
    const m1 = { up: ITEMS + patchesDdl(scratch(), "items"), down: "DROP TABLE items_patches; DROP TABLE items;" };
    r.migrate([m1]);
    r.upsertMany(
      "items",
      Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: "x" })),
    );
    rounds(r, 3);
    const m2 = { up: "ALTER TABLE items ADD COLUMN tag TEXT DEFAULT 'none'; ALTER TABLE items_patches ADD COLUMN tag TEXT;", down: "SELECT 1;" };
    r.migrate([m1, m2]);
    rounds(r, 3);
    expect(events).toEqual([]);
    const m3 = { up: "UPDATE items SET name = upper(name) WHERE id = 2;", down: "SELECT 1;" };
    r.migrate([m1, m2, m3]);
    rounds(r, 3);
    expect(events.map((e) => [e.table, e.kind, e.keys])).toEqual([["items", "changed", [{ id: 2 }]]]);
  });
});

/** A scratch database holding the items table, for printing its patches DDL. */
function scratch() {
  const s = testDriver();
  s.exec(ITEMS);
  return s;
}

describe("openRowRecompute", () => {
  it("refuses a table that does not replicate", () => {
    const d = testDriver();
    d.exec("CREATE TABLE plain (id INTEGER PRIMARY KEY)");
    expect(() => openRowRecompute(d, "plain")).toThrow(expect.objectContaining({ code: "UNKNOWN_TABLE" }));
  });
});
