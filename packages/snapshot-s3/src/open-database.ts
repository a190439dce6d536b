/**
 * Opens a SQLite file as a SqliteDriver with the runtime's own binding: bun:sqlite under Bun,
 * better-sqlite3 under Node. Loaded lazily, so neither is a hard dependency; pass your own
 * `open` to the snapshot functions to use another binding.
 */
import type { SqliteDriver } from "@replic/core";
import { SnapshotError } from "./errors.js";

export interface OpenedDatabase {
  driver: SqliteDriver;
  close(): void;
}

export type OpenDatabase = (path: string) => Promise<OpenedDatabase> | OpenedDatabase;

export const isBun = (): boolean => typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

// Specifiers in variables: bundlers and tsc leave them alone, and Node never resolves bun:sqlite.
const BUN_SQLITE = "bun:sqlite";
const BUN_ADAPTER = "@replic/adapter-bun";
const NODE_SQLITE = "better-sqlite3";
const NODE_ADAPTER = "@replic/adapter-node";

export const openDatabase: OpenDatabase = async (path: string) => {
  try {
    if (isBun()) {
      const { Database } = (await import(BUN_SQLITE)) as { Database: new (p: string) => { close(): void } };
      const { createDriver } = (await import(BUN_ADAPTER)) as { createDriver: (db: unknown) => SqliteDriver };
      const db = new Database(path);
      return { driver: createDriver(db), close: () => db.close() };
    }
    const mod = (await import(NODE_SQLITE)) as { default: new (p: string) => { close(): void } };
    const { createDriver } = (await import(NODE_ADAPTER)) as { createDriver: (db: unknown) => SqliteDriver };
    const db = new mod.default(path);
    return { driver: createDriver(db), close: () => db.close() };
  } catch (err) {
    if (err instanceof Error && /Cannot find (module|package)/.test(err.message)) {
      throw new SnapshotError("INVALID_OPTION", `no SQLite binding for this runtime (${err.message}); pass an \`open\` option`, { cause: err });
    }
    throw err;
  }
};
