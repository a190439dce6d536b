import { createRequire } from "node:module";
import type { Database } from "node-sqlite3-wasm";
import { crashChildCommand, defineConformanceSuite } from "@replic/conformance";
import * as adapter from "../src/index";

// Files are opened the documented way, with openDatabase: a process killed by the crash test
// leaves its <file>.lock directory and a hot journal behind, which openDatabase recovers.

defineConformanceSuite<Database>({
  name: "wasm",
  adapter,
  openDatabase: (path) => adapter.openDatabase(path),
  closeDatabase: (db) => db.close(),
  exec: (db, sql) => db.exec(sql),
  all: (db, sql) => db.all(sql) as Record<string, unknown>[],
  // node-sqlite3-wasm has no WAL: the crash test runs in the rollback-journal mode only.
  journalModes: ["delete"],
  // A file is held by one process at a time (a second opener gets DATABASE_LOCKED).
  oneProcessPerFile: true,
  // The child runs the built package (dist), as an application would.
  childCommand: crashChildCommand(
    process.execPath,
    "node-sqlite3-wasm",
    new URL("../dist/index.js", import.meta.url),
    createRequire(import.meta.url).resolve("node-sqlite3-wasm"),
  ),
});
