/**
 * watch(): re-runs a query when a merge touched one of its tables, delivers only changed results,
 * coalesces bursts, and works on any replica with a query function (oo1 and node-sqlite3-wasm).
 */
import { Database } from "node-sqlite3-wasm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openOo1Replica } from "../src/open-oo1";
import { openReplica } from "../src/index";
import { sameRows, tablesRead, watch, type Row, type WatchSource } from "../src/browser";
import type { Replica } from "@replic/core";
import { loadSqlite3, TODO_MIGRATIONS, type Sqlite3 } from "./sqlite-wasm";

let sqlite3: Sqlite3;
beforeAll(async () => {
  sqlite3 = await loadSqlite3();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A replica on an in-memory oo1 database, with a query source that counts its runs. */
function open(peerId: number) {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  const replica = openOo1Replica(db, sqlite3, { peerId, heartbeatMs: 0 });
  replica.migrate(TODO_MIGRATIONS);
  cleanups.push(() => {
    replica.close();
    db.close();
  });
  let runs = 0;
  const source: WatchSource & { runs(): number } = {
    on: (event, fn) => replica.on(event, fn),
    query: (sql, params) => {
      if (!sql.startsWith("EXPLAIN") && !sql.includes("sqlite_schema")) runs++;
      return db.selectObjects(sql, params.length ? (params as never) : undefined) as Row[];
    },
    runs: () => runs,
  };
  return { db, replica, source };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

function link(a: Replica, b: Replica) {
  a.addPeer(b.peerId, (m) => b.receive(a.peerId, m));
  b.addPeer(a.peerId, (m) => a.receive(b.peerId, m));
}

describe("tablesRead", () => {
  it("names the tables a statement reads, through joins, views, subqueries and CTEs", async () => {
    const { db, source } = open(1);
    db.exec("CREATE VIEW open_todos AS SELECT * FROM todos WHERE deletedAt IS NULL; CREATE TABLE local_only (k TEXT PRIMARY KEY, v) WITHOUT ROWID;");
    expect(await tablesRead(source, "SELECT * FROM todos", [])).toEqual(["todos"]);
    expect(await tablesRead(source, "SELECT t.title, g.name FROM todos t JOIN tags g ON g.todo = t.id WHERE t.id = ?", ["x"])).toEqual(["tags", "todos"]);
    expect(await tablesRead(source, "SELECT * FROM open_todos", [])).toEqual(["todos"]);
    expect(await tablesRead(source, "SELECT (SELECT count(*) FROM tags) AS n", [])).toEqual(["tags"]);
    expect(await tablesRead(source, "WITH x AS (SELECT id FROM TODOS) SELECT * FROM x", [])).toEqual(["todos"]);
    expect(await tablesRead(source, "SELECT v FROM local_only WHERE k = 'a'", [])).toEqual(["local_only"]);
    expect(await tablesRead(source, "SELECT 1 AS one", [])).toEqual([]);
    // an eponymous virtual table has no b-tree: unknown, so re-run on every merge
    expect(await tablesRead(source, "SELECT name FROM pragma_table_info('todos')", [])).toBe(null);
    // not a valid statement: unknown as well (the run itself reports the error)
    expect(await tablesRead(source, "SELECT * FROM nowhere", [])).toBe(null);
  });
});

describe("sameRows", () => {
  it("compares cells exactly, bytes by value", () => {
    expect(sameRows([{ a: 1n, b: new Uint8Array([1, 2]) }], [{ a: 1n, b: new Uint8Array([1, 2]) }])).toBe(true);
    expect(sameRows([{ a: 1n }], [{ a: 2n }])).toBe(false);
    expect(sameRows([{ a: 1 }], [{ a: "1" }])).toBe(false);
    expect(sameRows([{ b: new Uint8Array([1, 2]) }], [{ b: new Uint8Array([1, 3]) }])).toBe(false);
    expect(sameRows([{ a: 1 }], [{ a: 1 }, { a: 1 }])).toBe(false);
    expect(sameRows([{ a: 1 }], [{ b: 1 }])).toBe(false);
    expect(sameRows([{ a: null }], [{ a: null }])).toBe(true);
  });
});

describe("watch", () => {
  it("delivers the first result, then each changed result after local and remote merges", async () => {
    const a = open(1);
    const b = open(2);
    link(a.replica, b.replica);
    const seen: string[][] = [];
    const w = watch<{ title: string }>(b.source, "SELECT title FROM todos WHERE deletedAt IS NULL ORDER BY id", [], (rows) =>
      seen.push(rows.map((r) => r.title)),
    );
    cleanups.push(() => w.close());
    await settle();
    expect(seen).toEqual([[]]);
    expect(await w.tables).toEqual(["todos"]);

    b.replica.upsert("todos", { id: "1", title: "local" });
    await settle();
    a.replica.upsert("todos", { id: "2", title: "remote" }); // merged into b through the link
    await settle();
    a.replica.upsert("todos", { id: "1", deletedAt: 5 }); // a soft delete hides it
    await settle();
    expect(seen).toEqual([[], ["local"], ["local", "remote"], ["remote"]]);
  });

  it("does not call onRows when a merge left the result as it was", async () => {
    const { replica, source } = open(1);
    replica.upsert("todos", { id: "1", title: "same" });
    let calls = 0;
    const w = watch(source, "SELECT title FROM todos", [], () => calls++);
    cleanups.push(() => w.close());
    await settle();
    const runs = source.runs();
    replica.upsert("todos", { id: "1", title: "same" }); // a patch, but the row is unchanged
    replica.upsert("todos", { id: "1", done: 1 }); // a column the query does not read
    await settle();
    expect(source.runs()).toBeGreaterThan(runs); // the query did run again...
    expect(calls).toBe(1); // ...but its result did not change
  });

  it("runs once for a burst of merges in one turn", async () => {
    const a = open(1);
    const b = open(2);
    link(a.replica, b.replica);
    let calls = 0;
    const w = watch(b.source, "SELECT count(*) AS n FROM todos", [], () => calls++);
    cleanups.push(() => w.close());
    await settle();
    const runs = b.source.runs();
    for (let i = 0; i < 50; i++) a.replica.upsert("todos", { id: `t${i}`, title: "x" }); // 50 remote merges into b
    await settle();
    expect(b.source.runs()).toBe(runs + 1);
    expect(calls).toBe(2);
  });

  it("with merge events that name their tables, re-runs only queries on those tables", async () => {
    const { replica, db } = open(1);
    // The core's merge event gains `tables`; this source adds it the way the core will.
    const listeners = new Set<(e: { tables: string[] }) => void>();
    let runs = 0;
    const source: WatchSource = {
      on: (_event, fn) => {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
      query: (sql, params) => {
        if (!sql.startsWith("EXPLAIN") && !sql.includes("sqlite_schema")) runs++;
        return db.selectObjects(sql, params.length ? (params as never) : undefined) as Row[];
      },
    };
    const write = (table: string, row: Record<string, unknown>) => {
      replica.upsert(table, row);
      for (const fn of listeners) fn({ tables: [table.toUpperCase()] }); // names compare case-insensitively
    };
    const seen: unknown[] = [];
    const w = watch(source, "SELECT id FROM todos", [], (rows) => seen.push(rows.length));
    cleanups.push(() => w.close());
    await w.tables;
    await settle();
    const before = runs;
    write("tags", { id: "g", todo: "1", name: "home" });
    await settle();
    expect(runs).toBe(before); // tags is not read by the query
    write("todos", { id: "1", title: "x" });
    await settle();
    expect(runs).toBe(before + 1);
    expect(seen).toEqual([0, 1]);
  });

  it("reports a failing run to onError and keeps watching; close() stops it", async () => {
    const { replica, db, source } = open(1);
    const errors: unknown[] = [];
    const seen: number[] = [];
    db.exec("CREATE TABLE scratch (x)");
    const w = watch(source, "SELECT count(*) AS n FROM todos, scratch", [], (rows) => seen.push(Number(rows[0]!.n)), {
      onError: (e) => errors.push(e),
    });
    await settle();
    db.exec("DROP TABLE scratch");
    replica.upsert("todos", { id: "1" });
    await settle();
    expect(errors.length).toBe(1);
    db.exec("CREATE TABLE scratch (x); INSERT INTO scratch VALUES (1)");
    replica.upsert("todos", { id: "2" });
    await settle();
    expect(seen).toEqual([0, 2]);
    w.close();
    replica.upsert("todos", { id: "3" });
    await settle();
    expect(seen).toEqual([0, 2]);
  });

  it("takes the oo1 replica itself (the worker side of the browser), reading through its connection", async () => {
    const a = open(1);
    const b = open(2);
    link(a.replica, b.replica);
    const seen: string[][] = [];
    const w = watch<{ id: string; title: string }>(b.replica, "SELECT id, title FROM todos WHERE title LIKE ? ORDER BY id", ["a%"], (rows) =>
      seen.push(rows.map((r) => `${r.id}:${r.title}`)),
    );
    cleanups.push(() => w.close());
    expect(await w.tables).toEqual(["todos"]);
    b.replica.upsert("todos", { id: "1", title: "apple" });
    await settle();
    a.replica.upsert("todos", { id: "2", title: "apricot" });
    await settle();
    a.replica.upsert("tags", { id: "g", todo: "2", name: "fruit" }); // another table: no run
    await settle();
    expect(seen).toEqual([[], ["1:apple"], ["1:apple", "2:apricot"]]);
  });

  it("works on a node-sqlite3-wasm replica too (any query function)", async () => {
    const db = new Database(":memory:");
    const replica = openReplica(db, { peerId: 9, heartbeatMs: 0 });
    cleanups.push(() => {
      replica.close();
      db.close();
    });
    replica.migrate(TODO_MIGRATIONS);
    const seen: unknown[][] = [];
    const w = watch(
      { on: (e, fn) => replica.on(e, fn), query: (sql, params) => db.all(sql, params as never) as Row[] },
      "SELECT id, title FROM todos WHERE title LIKE ?",
      ["a%"],
      (rows) => seen.push(rows.map((r) => r.id)),
    );
    cleanups.push(() => w.close());
    expect(await w.tables).toEqual(["todos"]);
    replica.upsert("todos", { id: "1", title: "apple" });
    await settle();
    replica.upsert("todos", { id: "2", title: "banana" });
    await settle();
    expect(seen).toEqual([[], ["1"]]);
  });
});
