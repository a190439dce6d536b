/**
 * Typed rows (docs/typed-rows.md), proved by the compiler: this file is part of the package's
 * typecheck (`tsc -p tsconfig.json` includes test/), where every `@ts-expect-error` line must be
 * an error and every other line must compile. At run time each misuse is refused by the replica
 * too, with the error the untyped API gives, so the types promise nothing the engine does not
 * check. The DB types are Kysely's and Drizzle's own (pinned devDependencies).
 */
import Database from "better-sqlite3";
import { relations } from "drizzle-orm";
import { blob, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { ColumnType, Generated, GeneratedAlways } from "kysely";
import { describe, expect, expectTypeOf, it } from "vitest";
import { isReplicError, openReplica, patchesDdl, type MergeEvent, type Replica, type SqlValue, type TableName, type UpsertRow } from "../src/index";

/** A Kysely database interface for the tables below. */
interface KyselyDB {
  todos: {
    id: string;
    title: string | null;
    done: Generated<number>;
    created_at: ColumnType<number, number | undefined, never>;
  };
  members: { team: string; user: string; role: "admin" | "member" | null };
}

/** The same tables as a Drizzle schema module (with relations beside them, as apps have). */
const todos = sqliteTable("todos", {
  id: text().primaryKey(),
  title: text(),
  done: integer({ mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp" }),
});
const members = sqliteTable("members", { team: text().notNull(), user: text().notNull(), role: text({ enum: ["admin", "member"] }) }, (t) => [
  primaryKey({ columns: [t.team, t.user] }),
]);
const todosRelations = relations(todos, ({ many }) => ({ members: many(members) }));
const schema = { todos, members, todosRelations };

function database(): Database.Database {
  const db = new Database(":memory:");
  // STRICT, so that SQLite refuses at run time what the types refuse (a plain table stores any
  // value by its column's affinity, as SQLite does).
  db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER NOT NULL DEFAULT 0, created_at INTEGER) STRICT");
  db.exec("CREATE TABLE members (team TEXT NOT NULL, user TEXT NOT NULL, role TEXT, PRIMARY KEY (team, user)) STRICT");
  db.exec(patchesDdl(db, "todos"));
  db.exec(patchesDdl(db, "members"));
  return db;
}

/** The code of the ReplicError `fn` throws. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isReplicError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("openReplica<DB> with a Kysely database interface", () => {
  it("types upsert and upsertMany: tables, columns and values are checked, rows are patches", () => {
    const db = database();
    const replica = openReplica<KyselyDB>(db, { heartbeatMs: 0 });
    expectTypeOf<TableName<KyselyDB>>().toEqualTypeOf<"todos" | "members">();
    // Generated and ColumnType columns take what Kysely would insert or update, never undefined.
    expectTypeOf<UpsertRow<KyselyDB, "todos">>().toEqualTypeOf<{ id?: string; title?: string | null; done?: number; created_at?: number }>();

    replica.upsert("todos", { id: "t1", title: "buy milk", created_at: 1 });
    replica.upsert("todos", { id: "t1", done: 1 }); // a one-column patch
    replica.upsert("todos", { id: "t1", title: null }); // sets NULL
    replica.upsertMany("members", [{ team: "a", user: "u1", role: "admin" }, { team: "a", user: "u2" }]);
    expect(db.prepare("SELECT id, title, done, created_at FROM todos").all()).toEqual([{ id: "t1", title: null, done: 1, created_at: 1 }]);
    expect(db.prepare("SELECT COUNT(*) AS n FROM members").get()).toEqual({ n: 2 });

    // @ts-expect-error a misspelled table
    expect(codeOf(() => replica.upsert("todo", { id: "t2" }))).toBe("UNKNOWN_TABLE");
    // @ts-expect-error a misspelled column
    expect(codeOf(() => replica.upsert("todos", { id: "t2", titel: "x" }))).toBe("UNKNOWN_COLUMN");
    // @ts-expect-error a value of the wrong type
    expect(codeOf(() => replica.upsert("todos", { id: "t2", done: "yes" }))).toBe("TYPE_MISMATCH");
    // @ts-expect-error null in a column whose type has no null
    expect(codeOf(() => replica.upsert("todos", { id: "t2", done: null }))).toBe("NOT_NULL");
    // @ts-expect-error a value outside a union of literals (the type is stricter than the table, which takes any text)
    replica.upsert("members", { team: "a", user: "u3", role: "owner" });
    // @ts-expect-error one bad row in a batch
    expect(codeOf(() => replica.upsertMany("members", [{ team: "a", user: "u4" }, { team: "a", user: 5 }]))).toBe("TYPE_MISMATCH");
    replica.close();
  });

  it("makes the key columns named in Keys required; without Keys a missing key is refused at run time", () => {
    const db = database();
    const keyed = openReplica<KyselyDB, { todos: "id"; members: "team" | "user" }>(db, { heartbeatMs: 0 });
    expectTypeOf<UpsertRow<KyselyDB, "members", { members: "team" | "user" }>>().toEqualTypeOf<{ team: string; user: string; role?: "admin" | "member" | null }>();
    keyed.upsert("members", { team: "a", user: "u1" });
    // @ts-expect-error the key column user is missing
    expect(codeOf(() => keyed.upsert("members", { team: "a", role: "admin" }))).toBe("MISSING_PRIMARY_KEY");
    // @ts-expect-error the key of todos is missing
    expect(codeOf(() => keyed.upsertMany("todos", [{ title: "no key" }]))).toBe("MISSING_PRIMARY_KEY");
    keyed.close();

    const loose = openReplica<KyselyDB>(db, { heartbeatMs: 0 });
    expect(codeOf(() => loose.upsert("members", { team: "a", role: "admin" }))).toBe("MISSING_PRIMARY_KEY");
    loose.close();
    // Keys must name columns of the table: typed, never called.
    // @ts-expect-error "ID" is not a column of todos
    const misnamed = () => openReplica<KyselyDB, { todos: "ID" }>(db);
    expect(typeof misnamed).toBe("function");
  });

  it("writes nothing to GeneratedAlways columns", () => {
    interface WithComputed {
      todos: { id: string; title: string | null; done: number; created_at: GeneratedAlways<number> };
    }
    expectTypeOf<UpsertRow<WithComputed, "todos">["created_at"]>().toEqualTypeOf<undefined>();
    const db = database();
    const replica = openReplica<WithComputed, { todos: "id" }>(db, { heartbeatMs: 0 });
    // @ts-expect-error a generated column cannot be written (this test table has a plain column there, which takes it)
    replica.upsert("todos", { id: "t1", created_at: 5 });
    replica.close();
  });

  it("types upserts inside transaction() and the merge events", () => {
    const db = database();
    const replica = openReplica<KyselyDB>(db, { heartbeatMs: 0 });
    const events: MergeEvent<"todos" | "members">[] = [];
    replica.on("merge", (e) => {
      expectTypeOf(e.tables).toEqualTypeOf<("todos" | "members")[]>();
      expectTypeOf(e.keys).toEqualTypeOf<{ todos?: SqlValue[][]; members?: SqlValue[][] }>();
      events.push(e);
    });
    const tokens = replica.transaction(() => {
      const a = replica.upsert("todos", { id: "t1", title: "a" });
      // @ts-expect-error typed inside a transaction too
      if (a === "never") replica.upsert("todos", { id: "t1", title: 1 });
      return [a, replica.upsert("members", { team: "a", user: "u1" })];
    });
    expectTypeOf(tokens).toEqualTypeOf<string[]>();
    expect(events).toHaveLength(1);
    expect(events[0]!.tables.sort()).toEqual(["members", "todos"]);
    expect(events[0]!.keys.todos).toEqual([["t1"]]);
    expect(events[0]!.keys.members).toEqual([["a", "u1"]]);
    replica.close();
  });
});

describe("openReplica<typeof schema> with a Drizzle schema", () => {
  type Schema = typeof schema;

  it("keys tables and columns by their SQL names, requires .primaryKey() columns and takes what SQLite stores", () => {
    expectTypeOf<TableName<Schema>>().toEqualTypeOf<"todos" | "members">(); // relations are not tables
    expectTypeOf<UpsertRow<Schema, "todos">>().toEqualTypeOf<{ id: string; title?: string | null; done?: boolean; created_at?: number | null }>();
    expectTypeOf<UpsertRow<Schema, "members">>().toEqualTypeOf<{ team?: string; user?: string; role?: "admin" | "member" | null }>();

    const db = database();
    const replica = openReplica<Schema>(db, { heartbeatMs: 0 });
    replica.upsert("todos", { id: "t1", title: "buy milk", done: true, created_at: 1_700_000_000 });
    replica.upsertMany("members", [{ team: "a", user: "u1", role: "member" }]);
    expect(db.prepare("SELECT id, title, done, created_at FROM todos").all()).toEqual([{ id: "t1", title: "buy milk", done: 1, created_at: 1_700_000_000 }]);

    // @ts-expect-error the JS key createdAt is not the column's SQL name
    expect(codeOf(() => replica.upsert("todos", { id: "t1", createdAt: 1 }))).toBe("UNKNOWN_COLUMN");
    // @ts-expect-error the primary key is required
    expect(codeOf(() => replica.upsert("todos", { title: "no key" }))).toBe("MISSING_PRIMARY_KEY");
    // @ts-expect-error a Date is not what SQLite stores
    expect(codeOf(() => replica.upsert("todos", { id: "t1", created_at: new Date() }))).toBe("TYPE_MISMATCH");
    // @ts-expect-error a NOT NULL column takes no null
    expect(codeOf(() => replica.upsert("todos", { id: "t1", done: null }))).toBe("NOT_NULL");
    // @ts-expect-error relations are not a table
    expect(codeOf(() => replica.upsert("todosRelations", { id: "t1" }))).toBe("UNKNOWN_TABLE");
    replica.close();

    // A composite key (primaryKey({ columns })) is not in the column types: Keys names it.
    const keyed = openReplica<Schema, { members: "team" | "user" }>(db, { heartbeatMs: 0 });
    // @ts-expect-error user is part of the key
    expect(codeOf(() => keyed.upsert("members", { team: "a" }))).toBe("MISSING_PRIMARY_KEY");
    keyed.close();
  });
});

describe("Drizzle column modes", () => {
  it("take what SQLite stores, not the mapped JS value", () => {
    const kinds = sqliteTable("kinds", {
      id: integer().primaryKey(),
      at: integer({ mode: "timestamp_ms" }).notNull(),
      doc: text({ mode: "json" }).$type<{ a: number }>(),
      bin: blob({ mode: "buffer" }),
      big: blob({ mode: "bigint" }),
      score: real(),
      status: text({ enum: ["open", "closed"] }).notNull(),
    });
    expectTypeOf<UpsertRow<{ kinds: typeof kinds }, "kinds">>().toEqualTypeOf<{
      id: number;
      at?: number;
      doc?: string | null;
      bin?: Uint8Array | null;
      big?: bigint | null;
      score?: number | null;
      status?: "open" | "closed";
    }>();
    expect(kinds.at.name).toBe("at"); // the key names the column
  });
});

describe("without a type argument", () => {
  it("is the untyped Replica, as before, and a typed replica is still a Replica", () => {
    const db = database();
    const replica = openReplica(db, { heartbeatMs: 0 });
    expectTypeOf(replica).toEqualTypeOf<Replica>();
    const table: string = "todos";
    const row: Record<string, unknown> = { id: "t1", anything: "goes" };
    expect(codeOf(() => replica.upsert(table, row))).toBe("UNKNOWN_COLUMN"); // checked at run time only
    replica.on("merge", (e) => {
      expectTypeOf(e).toEqualTypeOf<MergeEvent>();
      expectTypeOf(e.keys).toEqualTypeOf<Record<string, SqlValue[][]>>();
    });
    replica.close();

    // Code that takes a Replica (hubs, transports, helpers) takes a typed one.
    const typed = openReplica<KyselyDB>(db, { heartbeatMs: 0 });
    const plain: Replica = typed;
    expect(plain.peerId).toBe(typed.peerId);
    typed.close();
  });
});
