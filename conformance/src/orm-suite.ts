/**
 * Kysely (its SqliteDialect) and Drizzle writing to a captured table on one peer (docs/orms.md);
 * another peer converges. One definition, run on each runtime with its binding: the adapter's
 * test file calls `defineOrmSuite()` with how to open a database, Kysely's database for it and
 * Drizzle's driver for the binding (drizzle-orm/better-sqlite3, drizzle-orm/bun-sqlite). The
 * `_patches` DDL comes from the migration recipes of docs/orms.md.
 *
 * Imports describe/it/expect from "vitest": `bun test` maps them onto bun:test.
 */
import { patchesDdlFromColumns, type Replica, type ReplicaOptions } from "@replic/core";
import { eq } from "drizzle-orm";
import { integer, sqliteTable, text, type BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { Kysely, sql, SqliteDialect, type Generated, type SqliteDatabase } from "kysely";
import { describe, expect, it } from "vitest";

/** One runtime's binding, as the suite needs it. `D` is the binding's database object. */
export interface OrmFixture<D> {
  /** The runtime, for the suite's title ("Node", "Bun"). */
  name: string;
  /** A fresh in-memory database. */
  open(): D;
  exec(db: D, sql: string): void;
  all(db: D, sql: string): unknown[];
  close(db: D): void;
  /** The adapter's openReplica. */
  openReplica(db: D, options: ReplicaOptions): Replica;
  /** The database Kysely's SqliteDialect takes (better-sqlite3's shape: the docs/orms.md shim on Bun). */
  kyselyDatabase(db: D): SqliteDatabase;
  /** Drizzle on the binding's own driver. */
  drizzle(db: D): BaseSQLiteDatabase<"sync", unknown>;
}

interface TodosTable {
  id: string;
  title: string | null;
  done: Generated<number>;
  deletedAt: number | null;
}
interface DB {
  todos: TodosTable;
}

const todos = sqliteTable("todos", {
  id: text("id").primaryKey(),
  title: text("title"),
  done: integer("done").notNull().default(0),
  deletedAt: integer("deletedAt"),
});

const TODOS_DDL = "CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER NOT NULL DEFAULT 0, deletedAt INTEGER)";
// The recipe: the same columns handed to patchesDdlFromColumns, no database needed.
const TODOS_PATCHES_DDL = patchesDdlFromColumns("todos", [
  { name: "id", type: "TEXT", pk: 1 },
  { name: "title", type: "TEXT", pk: 0 },
  { name: "done", type: "INTEGER", pk: 0 },
  { name: "deletedAt", type: "INTEGER", pk: 0 },
]);

function close(...rs: Replica[]) {
  for (const r of rs) r.close();
}

export function defineOrmSuite<D>(f: OrmFixture<D>): void {
  /** Two peers linked in memory; `settle()` delivers until quiet. */
  function peers(migrate: (db: D) => void) {
    const open = (peerId: number) => {
      const db = f.open();
      migrate(db);
      return { db, replica: f.openReplica(db, { peerId, heartbeatMs: 0, capture: ["todos"] }) };
    };
    const a = open(1);
    const b = open(2);
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    a.replica.addPeer(2, (m) => toB.push(m));
    b.replica.addPeer(1, (m) => toA.push(m));
    const settle = () => {
      for (let i = 0; i < 10; i++) {
        a.replica.tick();
        b.replica.tick();
        for (const m of toB.splice(0)) b.replica.receive(1, m);
        for (const m of toA.splice(0)) a.replica.receive(2, m);
      }
    };
    return { a, b, settle };
  }

  const rowsOf = (db: D) => f.all(db, "SELECT * FROM todos ORDER BY id");

  describe(`ORMs on captured tables (${f.name})`, () => {
    it("Kysely: insert, update, upsert and a transaction replicate; DELETE is refused", async () => {
      const { a, b, settle } = peers((db) => {
        f.exec(db, TODOS_DDL);
        for (const stmt of TODOS_PATCHES_DDL.split(/;\s*(?:\n|$)/).filter((s) => s.trim())) f.exec(db, stmt);
      });
      const k = new Kysely<DB>({ dialect: new SqliteDialect({ database: f.kyselyDatabase(a.db) }) });
      await k.insertInto("todos").values({ id: "t1", title: "buy milk" }).execute();
      await k.updateTable("todos").set({ done: 1 }).where("id", "=", "t1").execute();
      await k
        .insertInto("todos")
        .values({ id: "t2", title: "call mum" })
        .onConflict((oc) => oc.column("id").doUpdateSet({ title: (eb) => eb.ref("excluded.title") }))
        .execute();
      await k.transaction().execute(async (trx) => {
        await trx.insertInto("todos").values({ id: "t3", title: "water plants" }).execute();
        await trx.updateTable("todos").set({ title: null }).where("id", "=", "t2").execute();
      });
      await expect(k.deleteFrom("todos").where("id", "=", "t1").execute()).rejects.toThrow(/soft delete/);
      await k.updateTable("todos").set({ deletedAt: 1 }).where("id", "=", "t1").execute(); // the soft delete
      const token = a.replica.flush()!;
      settle();
      await b.replica.waitFor(token, 1000);
      expect(rowsOf(b.db)).toEqual(rowsOf(a.db));
      expect(rowsOf(b.db)).toEqual([
        { id: "t1", title: "buy milk", done: 1, deletedAt: 1 },
        { id: "t2", title: null, done: 0, deletedAt: null },
        { id: "t3", title: "water plants", done: 0, deletedAt: null },
      ]);
      // Reads stay Kysely queries, typed from DB.
      const open = await k.selectFrom("todos").select(["id", "title"]).where("deletedAt", "is", null).orderBy("id").execute();
      expect(open).toEqual([
        { id: "t2", title: null },
        { id: "t3", title: "water plants" },
      ]);
      // One drain: each row's writes fold into one patch.
      expect(Number((await sql<{ n: number }>`SELECT count(*) AS n FROM todos_patches`.execute(k)).rows[0]!.n)).toBe(3);
      close(a.replica, b.replica);
      await k.destroy(); // closes a.db
    });

    it("Drizzle: insert, update, onConflictDoUpdate and a transaction replicate; the other peer writes back with upsert", () => {
      const { a, b, settle } = peers((db) => {
        f.exec(db, TODOS_DDL);
        f.exec(db, TODOS_PATCHES_DDL);
      });
      const d = f.drizzle(a.db);
      d.insert(todos).values({ id: "t1", title: "buy milk" }).run();
      d.update(todos).set({ done: 1 }).where(eq(todos.id, "t1")).run();
      d.insert(todos)
        .values({ id: "t1", title: "buy oat milk" })
        .onConflictDoUpdate({ target: todos.id, set: { title: "buy oat milk" } })
        .run();
      d.transaction((tx) => {
        tx.insert(todos).values({ id: "t2", title: "call mum" }).run();
        tx.update(todos).set({ done: 1 }).where(eq(todos.id, "t2")).run();
      });
      expect(() => d.delete(todos).where(eq(todos.id, "t1")).run()).toThrow(/soft delete/);
      settle();
      b.replica.upsert("todos", { id: "t2", title: "call dad" });
      settle();
      expect(rowsOf(b.db)).toEqual(rowsOf(a.db));
      expect(d.select().from(todos).orderBy(todos.id).all()).toEqual([
        { id: "t1", title: "buy oat milk", done: 1, deletedAt: null },
        { id: "t2", title: "call dad", done: 1, deletedAt: null },
      ]);
      // b's merge into a's table was not captured again: a drained one patch per row (t1, t2), b wrote one.
      expect(a.replica.status().sequence).toBe(2);
      expect(b.replica.status().sequence).toBe(1);
      close(a.replica, b.replica);
      f.close(a.db);
      f.close(b.db);
    });
  });
}
