// A minimal better-sqlite3 driver for the core's own tests (the real adapters live in their packages).
import Database from "better-sqlite3";
import type { SqliteDriver, SqlValue } from "../src/driver.js";
import type { LocalPatch, ReplicatedTable } from "../src/replicated-table.js";
import { createReplica } from "../src/index.js";
import { simTempDir, type SimBinding } from "./sim.js";

export function testDriver(db = new Database(":memory:")): SqliteDriver & { db: Database.Database } {
  const norm = (row: unknown[]): SqlValue[] =>
    row.map((v) => (typeof v === "bigint" && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : (v as SqlValue)));
  return {
    db,
    name: "better-sqlite3 (test)",
    exec: (sql) => void db.exec(sql),
    // As the better-sqlite3 adapter: integers bind as bigint (stored as INTEGER in any column),
    // except parameters the hint marks as stored in an INTEGER, NUMERIC or REAL column.
    prepare(sql, numeric) {
      const s = db.prepare(sql);
      if (s.reader) s.raw(true).safeIntegers(true);
      const bind = (p: readonly SqlValue[]) =>
        p.map((v, i) =>
          v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v) : typeof v === "number" && Number.isSafeInteger(v) && numeric?.[i] !== true ? BigInt(v) : v,
        );
      return {
        run: (p) => s.run(...bind(p)).changes,
        get: (p) => {
          const r = s.get(...bind(p)) as unknown[] | undefined;
          return r ? norm(r) : undefined;
        },
        all: (p) => (s.all(...bind(p)) as unknown[][]).map(norm),
      };
    },
  };
}

/** The simulator's better-sqlite3 binding: a file in WAL mode with synchronous=NORMAL (the README's setup). */
export const betterSqliteSim: SimBinding = {
  name: "better-sqlite3 (test driver)",
  open(file) {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    return { driver: testDriver(db), close: () => db.close() };
  },
  createReplica: (driver, options) => createReplica(driver as SqliteDriver, options),
  tempDir: () => simTempDir("replic-sim-"),
};

/** A patch in engine form from a row object (columns sorted, as the engine keeps them). */
export function enginePatch(t: ReplicatedTable, peerId: number, seq: number, patchedAt: number, row: Record<string, SqlValue>): LocalPatch {
  const cols = Object.keys(row)
    .map((k) => t.schema.columnIndex.get(k)!)
    .sort((a, b) => a - b);
  return { table: t, peerId, seq, patchedAt, cols, values: cols.map((c) => row[t.columnNames[c]!]!) };
}
