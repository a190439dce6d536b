/**
 * The table contract is checked in one place: patchesDdl (before `T_patches` exists) refuses
 * exactly the tables `T` that openReplica refuses once a `T_patches` is there, with the same
 * SchemaError (code, table, column, message).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, patchesDdl, patchesDdlFromColumns, SchemaError, type Replica } from "../src/index.js";
import { readColumns, RESERVED_COLUMNS, NULLS_COLUMN } from "../src/schema.js";
import { testDriver } from "./helpers.js";

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

/** What a call threw, as the fields a caller relies on (or "no error"). */
function thrownBy(fn: () => unknown): { name: string; code: string; table: string; column: string | undefined; message: string } | "no error" {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SchemaError);
    const s = e as SchemaError;
    return { name: s.name, code: s.code, table: s.table, column: s.column, message: s.message };
  }
  return "no error";
}

/**
 * A `T_patches` that is right for `T` in every respect the sibling can be (every column of `T`
 * nullable, the reserved ones once), so only the rules about `T` itself can fail at openReplica.
 */
function siblingFor(d: ReturnType<typeof testDriver>, table: string): string {
  const reserved = new Set<string>([...RESERVED_COLUMNS, NULLS_COLUMN]);
  return patchesDdlFromColumns(table, readColumns(d, table).filter((c) => !reserved.has(c.name)));
}

const REFUSED: [string, string, string | undefined][] = [
  ["no primary key", `CREATE TABLE t (a TEXT, b INTEGER)`, undefined],
  ["no primary key (rowid only)", `CREATE TABLE t (a TEXT UNIQUE NOT NULL)`, undefined],
  ["a reserved column name", `CREATE TABLE t (id TEXT PRIMARY KEY, "_peerId" INTEGER)`, "_peerId"],
  ["the _nulls column name", `CREATE TABLE t (id TEXT PRIMARY KEY, "_nulls" TEXT)`, "_nulls"],
];

describe("the contract of T, before and after T_patches exists", () => {
  for (const [what, ddl, column] of REFUSED) {
    it(`${what}: patchesDdl and openReplica throw the same SchemaError`, () => {
      const d = testDriver();
      d.exec(ddl);
      const fromDdl = thrownBy(() => patchesDdl(d, "t"));
      expect(fromDdl).toMatchObject({ name: "SchemaError", code: "SCHEMA_INVALID", table: "t", column });
      expect(d.db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 't_patches'").pluck().get()).toBe(0);

      d.exec(siblingFor(d, "t"));
      const fromOpen = thrownBy(() => open.push(createReplica(d, { peerId: 1, heartbeatMs: 0 })));
      expect(fromOpen).toEqual(fromDdl);
    });
  }

  it("a table both accept: patchesDdl prints, openReplica opens on what it printed", () => {
    const d = testDriver();
    d.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', n INTEGER)`);
    d.exec(patchesDdl(d, "t"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    expect(r.status().tables).toEqual(["t"]);
  });

  it("NOT NULL without DEFAULT, foreign keys, UNIQUE and CHECK: patchesDdl prints, openReplica opens", () => {
    const d = testDriver();
    d.exec(`CREATE TABLE p (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)`);
    d.exec(`CREATE TABLE t (id TEXT PRIMARY KEY, title TEXT NOT NULL, p TEXT REFERENCES p(id), n INTEGER CHECK (n > 0))`);
    d.exec(patchesDdl(d, "p"));
    d.exec(patchesDdl(d, "t"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    open.push(r);
    expect(r.status().tables).toEqual(["p", "t"]);
  });

  it("patchesDdl refuses a table that does not exist and replic's own tables", () => {
    const d = testDriver();
    expect(thrownBy(() => patchesDdl(d, "nope"))).toMatchObject({ code: "SCHEMA_INVALID", table: "nope", message: expect.stringContaining("does not exist") });
    d.exec(`CREATE TABLE "_replic_x" (id TEXT PRIMARY KEY)`);
    expect(thrownBy(() => patchesDdl(d, "_replic_x"))).toMatchObject({ code: "SCHEMA_INVALID", table: "_replic_x", message: expect.stringContaining("bookkeeping") });
  });
});
