/**
 * migrate(): append-only lists, rollback through the stored `down` scripts when an older build
 * passes a shorter list, a typed error for a rewritten migration, and failing steps that leave
 * the database exactly as it was.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, ITEMS } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { dumpDatabase } from "./util.js";

const TAGS = {
  up: `CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
  down: `DROP TABLE tags_patches; DROP TABLE tags;`,
};
const NOTE = {
  up: `ALTER TABLE items ADD COLUMN note TEXT; ALTER TABLE items_patches ADD COLUMN note TEXT;`,
  down: `ALTER TABLE items_patches DROP COLUMN note; ALTER TABLE items DROP COLUMN note;`,
};

export function migrationsSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());
  const tables = (db: Db) =>
    b
      .all(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_replic_%' ORDER BY name`)
      .map((r) => String(r.name));
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return String((e as { code?: unknown }).code);
    }
    return "no error";
  };

  describe("migrate: forward, rollback, mismatch", () => {
    it("a shorter list rolls back with the stored down scripts, newest first; forward again restores the schema", () => {
      const o = h.open([...ITEMS, TAGS, NOTE], { peerId: 7 });
      o.r.upsert("items", { id: 1, name: "a", note: "n" } as never);
      o.r.upsert("tags", { id: "t", label: "x" });
      // An older build knows only ITEMS: it passes the shorter list.
      o.r.migrate(ITEMS);
      expect(tables(o.db)).toEqual(["items", "items_patches"]);
      expect(b.all(o.db, `SELECT count(*) AS n FROM pragma_table_info('items') WHERE name = 'note'`)[0]!.n).toBe(0);
      expect(codeOf(() => o.r.upsert("tags", { id: "u" }))).toBe("UNKNOWN_TABLE");
      // Sequence numbers are unaffected by migrations.
      expect(o.r.upsert("items", { id: 2, name: "b" })).toBe("7.3");
      o.r.migrate([...ITEMS, TAGS, NOTE]);
      expect(tables(o.db)).toEqual(["items", "items_patches", "tags", "tags_patches"]);
      expect(o.r.upsert("items", { id: 3, note: "again" } as never)).toBe("7.4");
    });

    it("a migration whose text differs from the applied one is MIGRATION_MISMATCH and changes nothing", () => {
      const o = h.open([...ITEMS, TAGS], { peerId: 8 });
      const before = dumpDatabase(b, o.db);
      expect(codeOf(() => o.r.migrate([...ITEMS, { ...TAGS, up: TAGS.up + " " }]))).toBe("MIGRATION_MISMATCH");
      expect(codeOf(() => o.r.migrate([{ ...ITEMS[0]!, down: "DROP TABLE items;" }]))).toBe("MIGRATION_MISMATCH");
      expect(dumpDatabase(b, o.db)).toEqual(before);
    });

    it("a failing up or down is a SchemaError naming the step and the SQL error; the database is as before", () => {
      const o = h.open([...ITEMS, TAGS], { peerId: 9 });
      o.r.upsert("items", { id: 1 });
      const before = dumpDatabase(b, o.db);
      let err: unknown;
      try {
        o.r.migrate([...ITEMS, TAGS, { up: "CREATE TABLE fine (x INTEGER); SELECT no_such_function();", down: "" }]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(b.adapter.SchemaError);
      expect((err as Error).message).toMatch(/migration 3 failed: .*no_such_function/);
      expect(dumpDatabase(b, o.db)).toEqual(before);
      // A down that fails (the stored one is broken on purpose) rolls back whole.
      b.exec(o.db, `UPDATE _replic_migrations SET down = 'DROP TABLE tags_patches; DROP TABLE nope;' WHERE version = 2`);
      const stored = dumpDatabase(b, o.db);
      err = undefined;
      try {
        o.r.migrate(ITEMS);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(b.adapter.SchemaError);
      expect((err as Error).message).toMatch(/rolling back migration 2 failed: .*nope/);
      expect(dumpDatabase(b, o.db)).toEqual(stored);
      expect(o.r.upsert("tags", { id: "still" })).toBe("9.2");
    });
  });
}
