/**
 * Kysely (SqliteDialect over better-sqlite3) and Drizzle (drizzle-orm/better-sqlite3) writing to a
 * captured table on one peer (docs/orms.md); another peer converges. The suite is shared with Bun
 * (@replic/conformance/orm-suite); this file hands it better-sqlite3.
 */
import Database from "better-sqlite3";
import { defineOrmSuite } from "@replic/conformance/orm-suite";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { openReplica } from "../src/index";

defineOrmSuite<Database.Database>({
  name: "Node",
  open: () => new Database(":memory:"),
  exec: (db, sql) => db.exec(sql),
  all: (db, sql) => db.prepare(sql).all(),
  close: (db) => db.close(),
  openReplica: (db, options) => openReplica(db, options),
  kyselyDatabase: (db) => db,
  drizzle: (db) => drizzle({ client: db }),
});
