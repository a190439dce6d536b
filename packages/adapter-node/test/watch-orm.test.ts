/**
 * watch() with real Kysely and Drizzle queries on better-sqlite3: a compiled query (Kysely's
 * compile(), Drizzle's toSQL()) or the builder itself runs on the replica's connection with its
 * own parameters, re-runs after merges on the tables it reads, and — from a Kysely builder —
 * hands over rows of the builder's type.
 */
import Database from "better-sqlite3";
import { and, asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { Kysely, SqliteDialect } from "kysely";
import { describe, expect, expectTypeOf, it } from "vitest";
import { isReplicError, openReplica, patchesDdl, watch } from "../src/index";

interface DB {
  todos: { id: string; title: string | null; done: number; list: string | null };
  lists: { id: string; name: string };
}

const todos = sqliteTable("todos", {
  id: text().primaryKey(),
  title: text(),
  done: integer({ mode: "boolean" }).notNull().default(false),
  list: text(),
});

function setup() {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER NOT NULL DEFAULT 0, list TEXT)");
  db.exec("CREATE TABLE lists (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '')");
  db.exec(patchesDdl(db, "todos"));
  db.exec(patchesDdl(db, "lists"));
  const replica = openReplica<DB, { todos: "id"; lists: "id" }>(db, { heartbeatMs: 0 });
  return { db, replica, kysely: new Kysely<DB>({ dialect: new SqliteDialect({ database: db }) }), orm: drizzle(db) };
}

/** Lets the watch's scheduled run and its onRows happen. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("watch() with a Kysely query", () => {
  it("takes the compiled query with its parameters and re-runs on merges of the tables it reads", async () => {
    const { replica, kysely } = setup();
    const query = kysely
      .selectFrom("todos")
      .innerJoin("lists", "lists.id", "todos.list")
      .select(["todos.title", "lists.name"])
      .where("todos.done", "=", 0)
      .orderBy("todos.id")
      .compile();
    expect(query.parameters).toEqual([0]);
    const seen: unknown[] = [];
    const w = watch(replica, query, (rows) => seen.push(rows));
    await expect(w.tables).resolves.toEqual(["lists", "todos"]);
    replica.upsert("lists", { id: "l1", name: "home" });
    replica.upsert("todos", { id: "t1", title: "milk", list: "l1" });
    await settle();
    replica.upsert("todos", { id: "t2", title: "eggs", done: 1, list: "l1" }); // filtered out by the parameter: no new rows
    await settle();
    expect(seen).toEqual([[], [{ title: "milk", name: "home" }]]);
    w.close();
    replica.close();
  });

  it("takes the builder itself, typing the rows from it", async () => {
    const { replica, kysely } = setup();
    const seen: { id: string; title: string | null }[][] = [];
    const w = watch(replica, kysely.selectFrom("todos").select(["id", "title"]).where("done", "=", 0).orderBy("id"), (rows) => {
      expectTypeOf(rows).toEqualTypeOf<{ id: string; title: string | null }[]>();
      seen.push(rows);
    });
    replica.upsert("todos", { id: "t1", title: "milk" });
    await settle();
    expect(seen).toEqual([[], [{ id: "t1", title: "milk" }]]);
    expect(await w.tables).toEqual(["todos"]);
    w.close();
    replica.close();
  });
});

describe("watch() with a Drizzle query", () => {
  it("takes toSQL()'s { sql, params } and the builder itself", async () => {
    const { replica, orm } = setup();
    const open = orm.select({ id: todos.id, title: todos.title }).from(todos).where(and(eq(todos.done, false), eq(todos.list, "l1"))).orderBy(asc(todos.id));
    expect(open.toSQL().params).toEqual([0, "l1"]); // Drizzle maps the boolean to what SQLite stores
    const fromSql: unknown[] = [];
    const fromBuilder: unknown[] = [];
    const a = watch(replica, open.toSQL(), (rows) => fromSql.push(rows));
    const b = watch<{ id: string; title: string | null }>(replica, open, (rows) => fromBuilder.push(rows.map((r) => r.title)));
    replica.upsert("todos", { id: "t1", title: "milk", list: "l1" });
    replica.upsert("todos", { id: "t2", title: "elsewhere", list: "l2" });
    await settle();
    replica.upsert("todos", { id: "t1", done: 1 });
    await settle();
    expect(fromSql).toEqual([[], [{ id: "t1", title: "milk" }], []]);
    expect(fromBuilder).toEqual([[], ["milk"], []]);
    a.close();
    b.close();
    replica.close();
  });
});

describe("watch() refuses", () => {
  const codeOf = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (e) {
      return isReplicError(e) ? e.code : e;
    }
    return undefined;
  };

  it("params beside a compiled query, and a query of no known shape, with INVALID_OPTION", () => {
    const { replica, kysely } = setup();
    const compiled = kysely.selectFrom("todos").selectAll().compile();
    // @ts-expect-error a compiled query carries its own parameters
    expect(codeOf(() => watch(replica, compiled, [1], () => {}))).toBe("INVALID_OPTION");
    // @ts-expect-error neither SQL text nor a compiled query
    expect(codeOf(() => watch(replica, { text: "SELECT 1" }, () => {}))).toBe("INVALID_OPTION");
    replica.close();
  });
});
