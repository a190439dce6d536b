// Opening the same kind of database on each binding, and the raw-SQLite baseline on it.
//
//   node  better-sqlite3 (v12) in Node       file DB, WAL + synchronous=NORMAL
//   bun   bun:sqlite in Bun                  file DB, WAL + synchronous=NORMAL
//   wasm  node-sqlite3-wasm in Node          :memory: (no WAL in this build: file commits ~900/s)
//
// Raw and replic always use the same binding, the same pragmas and the same table.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { RAW_UPSERT_SQL } from "./data.mjs";

const require = createRequire(import.meta.url);

export const BINDINGS = ["node", "bun", "wasm"];
export const BINDING_LABEL = {
  node: "better-sqlite3",
  bun: "bun:sqlite",
  wasm: "WASM (node-sqlite3-wasm)",
};
/** Which runtime executes a binding's child process. */
export const BINDING_RUNTIME = { node: "node", bun: "bun", wasm: "node" };
export const ADAPTER = { node: "@replic/adapter-node", bun: "@replic/adapter-bun", wasm: "@replic/adapter-wasm" };

let seq = 0;

/**
 * Opens a fresh database. `dir` is a scratch directory for file databases.
 * Returns { binding, native, exec(sql), prepareUpsert() => (row) => void, get(sql), close() }.
 */
export async function openDb(binding, dir, label = "db", { path: fixedPath } = {}) {
  if (binding === "node") {
    const Database = require("better-sqlite3");
    const path = fixedPath ?? join(dir, `${label}-${process.pid}-${++seq}.db`);
    const native = new Database(path);
    return walFileDb(binding, path, native, (sql) => native.prepare(sql).raw(true).get());
  }
  if (binding === "bun") {
    const { Database } = await import("bun:sqlite");
    const path = fixedPath ?? join(dir, `${label}-${process.pid}-${++seq}.db`);
    const native = new Database(path, { create: true });
    return walFileDb(binding, path, native, (sql) => native.prepare(sql).values()[0]);
  }
  if (binding === "wasm") {
    const { Database } = require("node-sqlite3-wasm");
    // :memory: unless a path is given (the catch-up sender's file, written once by a set-up
    // process and then only read). No WAL in this build: rollback journal.
    const path = fixedPath ?? ":memory:";
    const native = new Database(path);
    if (path !== ":memory:") native.exec("PRAGMA synchronous = NORMAL");
    const stmts = [];
    return {
      binding,
      path,
      native,
      exec: (sql) => native.exec(sql),
      get: (sql) => {
        const r = native.get(sql);
        return r ? Object.values(r) : undefined;
      },
      prepareUpsert() {
        const st = native.prepare(RAW_UPSERT_SQL);
        stmts.push(st);
        return (r) => st.run([r.id, r.name, r.qty, r.price, r.note, r.deletedAt]);
      },
      close({ keep = false } = {}) {
        for (const s of stmts) s.finalize();
        native.close();
        if (!keep && path !== ":memory:") removeDbFiles(path);
      },
    };
  }
  throw new Error(`unknown binding ${binding}`);
}

/**
 * A file database in WAL with synchronous=NORMAL, for the two bindings whose statements take
 * positional arguments (better-sqlite3, bun:sqlite). `get(sql)` returns the first row as an array.
 */
function walFileDb(binding, path, native, get) {
  native.exec("PRAGMA journal_mode = WAL");
  native.exec("PRAGMA synchronous = NORMAL");
  return {
    binding,
    path,
    native,
    exec: (sql) => native.exec(sql),
    get,
    prepareUpsert() {
      const st = native.prepare(RAW_UPSERT_SQL);
      return (r) => st.run(r.id, r.name, r.qty, r.price, r.note, r.deletedAt);
    },
    close({ keep = false } = {}) {
      native.close();
      if (!keep) removeDbFiles(path);
    },
  };
}

/** Loads a binding's module without opening anything (so a timed open does not include it). */
export async function loadBinding(binding) {
  if (binding === "node") require("better-sqlite3");
  else if (binding === "bun") await import("bun:sqlite");
  else if (binding === "wasm") require("node-sqlite3-wasm");
  else throw new Error(`unknown binding ${binding}`);
}

export function removeDbFiles(path) {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(path + suffix, { force: true });
}

/** Loads the replic adapter of a binding (dynamic so node never imports bun:sqlite). */
export async function loadAdapter(binding) {
  // REPLIC_BENCH_ADAPTERS=<dir> benchmarks other builds: <dir>/adapter-<binding>.mjs and <dir>/core.mjs.
  const dir = process.env.REPLIC_BENCH_ADAPTERS;
  if (dir) return import(pathToFileURL(join(dir, `adapter-${binding}.mjs`)).href);
  return import(ADAPTER[binding]);
}
