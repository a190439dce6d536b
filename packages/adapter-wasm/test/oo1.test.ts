/**
 * The oo1 driver (official SQLite WASM build, @sqlite.org/sqlite-wasm) under Node. That build
 * targets browsers and workers; in Node it needs three shims, set here before it loads: a
 * global `self`, a `location`, and the .wasm bytes handed over directly (Node's fetch cannot
 * read file: URLs). OPFS is unavailable in Node, so the database is in memory.
 *
 * The shared driver checks live in @replic/conformance (`defineDriverContract`); the oo1
 * workarounds they rely on (U+0000 refused, unsafe integral numbers rebound as REAL, no bind()
 * on a statement without parameters) are in src/oo1.ts.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineDriverContract } from "@replic/conformance";
import { afterAll, beforeAll } from "vitest";
import { createOo1Driver } from "../src/oo1";
import type { Oo1Database, Sqlite3Static } from "../src/oo1";

type Oo1Db = Oo1Database & { close(): void; isOpen(): boolean; selectValue(sql: string): unknown };
type Sqlite3 = Sqlite3Static & { oo1: { DB: new (name: string, flags: string) => Oo1Db }; version: { libVersion: string } };

let sqlite3: Sqlite3;
const g = globalThis as Record<string, unknown>;
const hadSelf = "self" in g;
const hadLocation = "location" in g;

beforeAll(async () => {
  if (!hadSelf) g.self = globalThis;
  if (!hadLocation) g.location = new URL("file:///replic-oo1-test/");
  // quiet the build's warnings ("no OPFS", "sqlite3_step() rc=..." on expected errors)
  g.sqlite3ApiConfig = { warn: () => {} };
  const pkg = createRequire(import.meta.url).resolve("@sqlite.org/sqlite-wasm/package.json");
  const wasmBinary = readFileSync(join(dirname(pkg), "sqlite-wasm", "jswasm", "sqlite3.wasm"));
  const specifier = "@sqlite.org/sqlite-wasm"; // 3.41.2 ships no type declarations
  const mod = (await import(/* @vite-ignore */ specifier)) as {
    default: (opts: Record<string, unknown>) => Promise<Sqlite3>;
  };
  sqlite3 = await mod.default({ wasmBinary, print: () => {}, printErr: () => {} });
});
afterAll(() => {
  if (!hadSelf) delete g.self;
  if (!hadLocation) delete g.location;
  delete g.sqlite3ApiConfig;
});

defineDriverContract({
  name: "oo1 driver (official SQLite WASM build)",
  driverName: "sqlite-wasm-oo1",
  open() {
    const db = new sqlite3.oo1.DB(":memory:", "c");
    return {
      driver: createOo1Driver(db, sqlite3),
      close: () => {
        if (db.isOpen()) db.close();
      },
      isOpen: () => db.isOpen(),
      exec: (sql) => db.exec(sql),
      queryValue: (sql) => db.selectValue(sql),
    };
  },
  // oo1 refuses such a bigint itself, with its own SQLite3Error (not a RangeError)
  bigintRangeError: Error,
  // oo1 binds U+0000 but reads text back NUL-terminated ("a\u0000b" would come back as "a")
  textWithNul: "reject",
  releaseFinalizes: true,
});
