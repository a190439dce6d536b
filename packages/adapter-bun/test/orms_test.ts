/**
 * Kysely (its SqliteDialect over bun:sqlite, through the small shim of docs/orms.md) and Drizzle
 * (drizzle-orm/bun-sqlite) writing to a captured table on one peer; another peer converges. The
 * suite is shared with Node (@replic/conformance/orm-suite); this file hands it bun:sqlite. Run
 * with `bun test` (named *_test.ts so that vitest never loads it under Node).
 */
import { Database } from "bun:sqlite";
import { defineOrmSuite } from "@replic/conformance/orm-suite";
import { drizzle } from "drizzle-orm/bun-sqlite";
import type { SqliteDatabase } from "kysely";
import { openReplica } from "../src/index";

/** bun:sqlite as Kysely's SqliteDialect expects a database (better-sqlite3's shape): the docs/orms.md shim. */
function kyselyDatabase(db: Database): SqliteDatabase {
  return {
    close: () => db.close(),
    prepare(text: string) {
      const stmt = db.prepare(text);
      return {
        reader: stmt.columnNames.length > 0,
        all: (params: ReadonlyArray<unknown>) => stmt.all(...(params as never[])),
        run: (params: ReadonlyArray<unknown>) => stmt.run(...(params as never[])),
        iterate: (params: ReadonlyArray<unknown>) => stmt.iterate(...(params as never[])),
      };
    },
  } as SqliteDatabase;
}

defineOrmSuite<Database>({
  name: "Bun",
  open: () => new Database(":memory:"),
  exec: (db, sql) => db.exec(sql),
  all: (db, sql) => db.prepare(sql).all(),
  close: (db) => db.close(),
  openReplica: (db, options) => openReplica(db, options),
  kyselyDatabase,
  drizzle: (db) => drizzle({ client: db }),
});
