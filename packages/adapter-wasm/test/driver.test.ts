/**
 * Driver contract on node-sqlite3-wasm, through its Statement internals and through its public
 * API only: the shared checks live in @replic/conformance (`defineDriverContract`); this file
 * keeps only what is specific to node-sqlite3-wasm.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "node-sqlite3-wasm";
import type { Statement } from "node-sqlite3-wasm";
import { defineDriverContract } from "@replic/conformance";
import { describe, expect, it } from "vitest";
import { createDriver } from "../src/driver";
import { clearStaleLock } from "../src/lock";

/**
 * A Database whose statements expose only node-sqlite3-wasm's public API, to exercise the
 * driver's fallback path (for a future node-sqlite3-wasm without the internals it uses).
 */
function publicOnly(db: Database): Database {
  return {
    exec: (sql: string) => db.exec(sql),
    prepare(sql: string) {
      const s = db.prepare(sql);
      return {
        run: (v: never) => s.run(v),
        all: (v: never) => s.all(v),
        get: (v: never) => s.get(v),
        iterate: (v: never) => s.iterate(v),
        finalize: () => s.finalize(),
        get isFinalized() {
          return s.isFinalized;
        },
        get database() {
          return db;
        },
      } as unknown as Statement;
    },
  } as unknown as Database;
}

for (const mode of ["internals", "public API"] as const) {
  defineDriverContract({
    name: `node-sqlite3-wasm driver (${mode})`,
    driverName: "node-sqlite3-wasm",
    noColumnNames: mode === "public API",
    open() {
      const db = new Database(":memory:");
      return {
        driver: createDriver(mode === "internals" ? db : publicOnly(db)),
        close: () => {
          if (db.isOpen) db.close();
        },
        isOpen: () => db.isOpen,
        exec: (sql) => db.exec(sql),
        queryValue: (sql) => Object.values(db.get(sql) as object)[0],
        callerStatements: (sql) => {
          const mine = db.prepare(sql);
          return [
            {
              read: () => Object.values(mine.get() as object)[0],
              finalize: () => mine.finalize(),
            },
          ];
        },
      };
    },
    // node-sqlite3-wasm alone wraps a bigint outside int64 (2^64 lands as 0)
    bigintRangeError: RangeError,
    // node-sqlite3-wasm passes text NUL-terminated: "a\u0000b" would land as "a"
    textWithNul: "reject",
    releaseFinalizes: /finalized/,
    // the public API keys rows by column name, and its run() leaves a statement that returns
    // rows active: these are its documented limits
    rowsKeyedByName: mode === "public API",
    runLeavesReadersActive: mode === "public API",
  });
}

describe("node-sqlite3-wasm facts the README relies on", () => {
  it("has no WAL: journal_mode stays a rollback journal on a file database", () => {
    const dir = mkdtempSync(join(tmpdir(), "replic-wasm-"));
    try {
      const db = new Database(join(dir, "a.db"));
      const d = createDriver(db);
      const mode = d.prepare("PRAGMA journal_mode = WAL").get([]);
      expect(mode).not.toEqual(["wal"]);
      expect(d.prepare("PRAGMA journal_mode").get([])).not.toEqual(["wal"]);
      d.release?.();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a leftover <file>.lock directory (process killed mid-transaction) makes the file unusable until removed", () => {
    const dir = mkdtempSync(join(tmpdir(), "replic-wasm-"));
    try {
      const file = join(dir, "a.db");
      const first = new Database(file);
      first.exec("CREATE TABLE t(x)");
      first.close();
      mkdirSync(`${file}.lock`); // what a kill -9 inside a transaction leaves behind
      const db = new Database(file);
      const d = createDriver(db);
      expect(() => d.prepare("SELECT count(*) FROM t").get([])).toThrow(/locked/);
      expect(clearStaleLock(file)).toBe(true);
      expect(clearStaleLock(file)).toBe(false);
      expect(d.prepare("SELECT count(*) FROM t").get([])).toEqual([0]);
      d.release?.();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
