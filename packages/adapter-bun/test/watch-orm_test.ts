/**
 * watch() with real Kysely and Drizzle queries on bun:sqlite (run with `bun test`; named *_test.ts
 * so that vitest never loads it under Node). Kysely only compiles here, through its documented
 * compile-only dialect (DummyDriver); Drizzle is its bun-sqlite driver on the replica's database.
 */
import { Database } from "bun:sqlite";
import { and, asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from "kysely";
import { describe, expect, it } from "vitest";
import { openReplica, patchesDdl, watch } from "../src/index";

interface DB {
  todos: { id: string; title: string | null; done: number };
}

const todos = sqliteTable("todos", {
  id: text().primaryKey(),
  title: text(),
  done: integer({ mode: "boolean" }).notNull().default(false),
});

function setup() {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER NOT NULL DEFAULT 0)");
  db.exec(patchesDdl(db, "todos"));
  const replica = openReplica<DB, { todos: "id" }>(db, { heartbeatMs: 0 });
  const kysely = new Kysely<DB>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new SqliteIntrospector(k),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
  return { replica, kysely, orm: drizzle(db) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("watch() with ORM queries on bun:sqlite", () => {
  it("runs a Kysely compiled query and builder with their parameters, again after merges", async () => {
    const { replica, kysely } = setup();
    const builder = kysely.selectFrom("todos").select(["id", "title"]).where("done", "=", 0).orderBy("id");
    const compiled: unknown[] = [];
    const built: unknown[] = [];
    const a = watch(replica, builder.compile(), (rows) => compiled.push(rows));
    const b = watch(replica, builder, (rows) => built.push(rows.map((r) => r.title)));
    replica.upsert("todos", { id: "t1", title: "milk" });
    await settle();
    replica.upsert("todos", { id: "t1", done: 1 });
    await settle();
    expect(compiled).toEqual([[], [{ id: "t1", title: "milk" }], []]);
    expect(built).toEqual([[], ["milk"], []]);
    expect(await a.tables).toEqual(["todos"]);
    a.close();
    b.close();
    replica.close();
  });

  it("runs a Drizzle toSQL() result and builder", async () => {
    const { replica, orm } = setup();
    const open = orm.select({ id: todos.id, title: todos.title }).from(todos).where(and(eq(todos.done, false))).orderBy(asc(todos.id));
    const fromSql: unknown[] = [];
    const fromBuilder: unknown[] = [];
    const a = watch(replica, open.toSQL(), (rows) => fromSql.push(rows));
    const b = watch(replica, open, (rows) => fromBuilder.push(rows));
    replica.upsert("todos", { id: "t1", title: "milk" });
    await settle();
    replica.upsert("todos", { id: "t2", title: "done already", done: 1 });
    await settle();
    expect(fromSql).toEqual([[], [{ id: "t1", title: "milk" }]]);
    expect(fromBuilder).toEqual(fromSql);
    a.close();
    b.close();
    replica.close();
  });
});
