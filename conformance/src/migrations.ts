/**
 * migrate(): append-only lists, rollback through the stored `down` scripts when an older build
 * passes a shorter list, a typed error for a rewritten migration, and failing steps that leave
 * the database exactly as it was.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ITEMS } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { syncWorld, type World, type WorldDb } from "./world.js";

const TAGS = {
  up: `CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
  down: `DROP TABLE tags_patches; DROP TABLE tags;`,
};
const NOTE = {
  up: `ALTER TABLE items ADD COLUMN note TEXT; ALTER TABLE items_patches ADD COLUMN note TEXT;`,
  down: `ALTER TABLE items_patches DROP COLUMN note; ALTER TABLE items DROP COLUMN note;`,
};

export function migrationsSuite<Db>(b: ConformanceBinding<Db>): void {
  migrationsBlock(syncWorld(b));
}

/** migrate() on any world. */
export function migrationsBlock(w: World): void {
  afterEach(() => w.closeAll());
  const tables = async (db: WorldDb) =>
    (await db.all(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_replic_%' ORDER BY name`)).map((r) =>
      String(r.name),
    );
  const codeOf = async (fn: () => Promise<unknown>): Promise<string> => {
    try {
      await fn();
    } catch (e) {
      return String((e as { code?: unknown }).code);
    }
    return "no error";
  };

  describe("migrate: forward, rollback, mismatch", () => {
    it("a shorter list rolls back with the stored down scripts, newest first; forward again restores the schema", async () => {
      const o = await w.open([...ITEMS, TAGS, NOTE], { peerId: 7 });
      await o.r.upsert("items", { id: 1, name: "a", note: "n" } as never);
      await o.r.upsert("tags", { id: "t", label: "x" });
      // An older build knows only ITEMS: it passes the shorter list.
      await o.r.migrate(ITEMS);
      expect(await tables(o.db)).toEqual(["items", "items_patches"]);
      expect((await o.db.all(`SELECT count(*) AS n FROM pragma_table_info('items') WHERE name = 'note'`))[0]!.n).toBe(0);
      expect(await codeOf(() => o.r.upsert("tags", { id: "u" }))).toBe("UNKNOWN_TABLE");
      // Sequence numbers are unaffected by migrations.
      expect(await o.r.upsert("items", { id: 2, name: "b" })).toBe("7.3");
      await o.r.migrate([...ITEMS, TAGS, NOTE]);
      expect(await tables(o.db)).toEqual(["items", "items_patches", "tags", "tags_patches"]);
      expect(await o.r.upsert("items", { id: 3, note: "again" } as never)).toBe("7.4");
    });

    it("a migration whose text differs from the applied one is MIGRATION_MISMATCH and changes nothing", async () => {
      const o = await w.open([...ITEMS, TAGS], { peerId: 8 });
      const before = await o.db.dumpDatabase();
      expect(await codeOf(() => o.r.migrate([...ITEMS, { ...TAGS, up: TAGS.up + " " }]))).toBe("MIGRATION_MISMATCH");
      expect(await codeOf(() => o.r.migrate([{ ...ITEMS[0]!, down: "DROP TABLE items;" }]))).toBe("MIGRATION_MISMATCH");
      expect(await o.db.dumpDatabase()).toEqual(before);
    });

    it("a failing up or down is a SchemaError naming the step and the SQL error; the database is as before", async () => {
      const o = await w.open([...ITEMS, TAGS], { peerId: 9 });
      await o.r.upsert("items", { id: 1 });
      const before = await o.db.dumpDatabase();
      let err: unknown;
      try {
        await o.r.migrate([...ITEMS, TAGS, { up: "CREATE TABLE fine (x INTEGER); SELECT no_such_function();", down: "" }]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(w.adapter.SchemaError);
      expect((err as Error).message).toMatch(/migration 3 failed: .*no_such_function/);
      expect(await o.db.dumpDatabase()).toEqual(before);
      // A down that fails (the stored one is broken on purpose) rolls back whole.
      await o.db.exec(`UPDATE _replic_migrations SET down = 'DROP TABLE tags_patches; DROP TABLE nope;' WHERE version = 2`);
      const stored = await o.db.dumpDatabase();
      err = undefined;
      try {
        await o.r.migrate(ITEMS);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(w.adapter.SchemaError);
      expect((err as Error).message).toMatch(/rolling back migration 2 failed: .*nope/);
      expect(await o.db.dumpDatabase()).toEqual(stored);
      expect(await o.r.upsert("tags", { id: "still" })).toBe("9.2");
    });
  });
}
