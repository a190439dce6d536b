import { createRequire } from "node:module";
import Database from "better-sqlite3";
import { crashChildCommand, defineConformanceSuite } from "@replic/conformance";
import * as adapter from "../src/index";

defineConformanceSuite<Database.Database>({
  name: "better-sqlite3",
  adapter,
  openDatabase: (path) => new Database(path),
  closeDatabase: (db) => db.close(),
  exec: (db, sql) => db.exec(sql),
  all: (db, sql) => db.prepare(sql).all() as Record<string, unknown>[],
  // The child runs the built package (dist), as an application would.
  childCommand: crashChildCommand(
    process.execPath,
    "better-sqlite3",
    new URL("../dist/index.js", import.meta.url),
    createRequire(import.meta.url).resolve("better-sqlite3"),
  ),
});
