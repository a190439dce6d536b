// Run with `bun test` (bun maps the suite's "vitest" imports onto bun:test).
import { Database } from "bun:sqlite";
import { crashChildCommand, defineConformanceSuite } from "@replic/conformance";
import * as adapter from "../src/index";

defineConformanceSuite<Database>({
  name: "bun-sqlite",
  adapter,
  openDatabase: (path) => new Database(path),
  closeDatabase: (db) => db.close(),
  exec: (db, sql) => db.exec(sql),
  all: (db, sql) => {
    // Finalized at once: a statement left to the garbage collector keeps close() from closing,
    // and the late close (a checkpoint, in WAL mode) then locks out the crash children's opens.
    const stmt = db.prepare(sql);
    try {
      return stmt.all() as Record<string, unknown>[];
    } finally {
      stmt.finalize();
    }
  },
  // The child runs the built package (dist), as an application would.
  childCommand: crashChildCommand(process.execPath, "bun:sqlite", new URL("../dist/index.js", import.meta.url)),
});
