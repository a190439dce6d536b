/**
 * `openDatabase(path)`: a node-sqlite3-wasm Database on a file, recovered after a crash and held
 * by this process until `db.close()` (./file-owner.ts). The documented way to open a file.
 */
import type { Database } from "node-sqlite3-wasm";
import { claimFile } from "./file-owner";

export interface OpenDatabaseOptions {
  /** Fail instead of creating the file when it does not exist (node-sqlite3-wasm's option). */
  fileMustExist?: boolean;
}

type Binding = { Database: new (path: string, options?: OpenDatabaseOptions) => Database };

function binding(): Binding {
  // node-sqlite3-wasm is an optional peer: loaded at call time, from where this package is
  // installed, so importing the package never requires it (and browser bundles never see it).
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.("node:module") as { createRequire(from: string): (id: string) => unknown } | undefined;
  if (!mod) throw new Error("replic: openDatabase needs Node.js >= 20.16, Bun or Deno 2");
  return mod.createRequire(import.meta.url)("node-sqlite3-wasm") as Binding;
}

/**
 * Opens (or creates) the node-sqlite3-wasm database file `path`. When the process that had it
 * open was killed (kill -9, OOM, power loss) it first recovers the file: plays back the half-done
 * transaction's rollback journal and removes node-sqlite3-wasm's stale `<path>.lock`. When a live
 * process has it open it throws a `DatabaseLockedError` (code `DATABASE_LOCKED`, with that
 * process's `pid`) and opens nothing. `db.close()` gives the file back. ":memory:" is passed through.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Database {
  const { Database: WasmDatabase } = binding();
  if (path === ":memory:" || path === "") return new WasmDatabase(path, options);
  const release = claimFile(path);
  let db: Database;
  try {
    db = new WasmDatabase(path, options);
  } catch (e) {
    release();
    throw e;
  }
  const close = db.close;
  Object.defineProperty(db, "close", {
    configurable: true,
    writable: true,
    value(): void {
      try {
        close.call(db);
      } finally {
        release();
      }
    },
  });
  return db;
}
