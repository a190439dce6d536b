import { createRequire } from "node:module";
import { Database } from "node-sqlite3-wasm";
import { crashChildCommand, defineConformanceSuite } from "@replic/conformance";
import * as adapter from "../src/index";

// The documented startup step for node-sqlite3-wasm: a process killed by the crash test leaves
// its <file>.lock directory and a hot journal behind, which node-sqlite3-wasm cannot recover.

defineConformanceSuite<Database>({
  name: "wasm",
  adapter,
  openDatabase: (path) => {
    adapter.recoverAfterCrash(path);
    return new Database(path);
  },
  closeDatabase: (db) => db.close(),
  exec: (db, sql) => db.exec(sql),
  all: (db, sql) => db.all(sql) as Record<string, unknown>[],
  // node-sqlite3-wasm has no WAL: the crash test runs in the rollback-journal mode only.
  journalModes: ["delete"],
  // The child runs the built package (dist), as an application would.
  childCommand: crashChildCommand(
    process.execPath,
    "node-sqlite3-wasm",
    new URL("../dist/index.js", import.meta.url),
    createRequire(import.meta.url).resolve("node-sqlite3-wasm"),
  ),
});
