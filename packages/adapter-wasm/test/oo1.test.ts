/**
 * The oo1 driver (official SQLite WASM build, @sqlite.org/sqlite-wasm 3.5x) under Node. Since
 * 3.5x the package has a Node entry (`exports["."].node`) that loads sqlite3.wasm from its own
 * directory, so no shims are needed. OPFS does not exist in Node: the database is in memory. The
 * same driver runs in a real browser (OPFS, in a worker) in examples/browser/test.
 *
 * The shared driver checks live in @replic/conformance (`defineDriverContract`); the oo1
 * workarounds they rely on (U+0000 refused, unsafe integral numbers rebound as REAL, no bind()
 * on a statement without parameters) are in src/oo1.ts.
 */
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { defineDriverContract } from "@replic/conformance";
import { beforeAll, describe, expect, it } from "vitest";
import { createOo1Driver } from "../src/oo1";
import { openOo1Replica } from "../src/browser";

type Sqlite3 = Awaited<ReturnType<typeof sqlite3InitModule>>;
let sqlite3: Sqlite3;

beforeAll(async () => {
  // quiet the build's warnings ("sqlite3_step() rc=..." on expected errors)
  (globalThis as Record<string, unknown>).sqlite3ApiConfig = { warn: () => {} };
  const init = sqlite3InitModule as unknown as (opts: Record<string, unknown>) => Promise<Sqlite3>;
  sqlite3 = await init({ print: () => {}, printErr: () => {} });
});

describe("the official build under test", () => {
  it("is a current 3.5x build with BigInt support", () => {
    const [major, minor] = sqlite3.version.libVersion.split(".").map(Number);
    expect(major).toBe(3);
    expect(minor).toBeGreaterThanOrEqual(50);
    expect((sqlite3.wasm as { bigIntEnabled?: boolean }).bigIntEnabled).toBe(true);
  });

  it("replicates through openOo1Replica from the browser entry", async () => {
    const dbA = new sqlite3.oo1.DB(":memory:", "c");
    const dbB = new sqlite3.oo1.DB(":memory:", "c");
    const migrations = [
      {
        up:
          "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, n INTEGER);" +
          "CREATE TABLE notes_patches (id TEXT, body TEXT, n INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);",
        down: "DROP TABLE notes_patches; DROP TABLE notes;",
      },
    ];
    const a = openOo1Replica(dbA, sqlite3, { peerId: 1, heartbeatMs: 0 });
    const b = openOo1Replica(dbB, sqlite3, { peerId: 2, heartbeatMs: 0 });
    a.migrate(migrations);
    b.migrate(migrations);
    a.addPeer(2, (m) => b.receive(1, m));
    b.addPeer(1, (m) => a.receive(2, m));
    const token = a.upsert("notes", { id: "x", body: "héllo", n: 2n ** 60n });
    await b.waitFor(token, 1000);
    expect(dbB.selectArrays("SELECT id, body, n FROM notes")).toEqual([["x", "héllo", 2n ** 60n]]);
    a.close();
    b.close();
    dbA.close();
    dbB.close();
  });
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
