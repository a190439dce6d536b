/**
 * node-sqlite3-wasm frees a closed database only once every statement on it is finalized
 * (sqlite3_close_v2 leaves it a zombie until then, its pages held in the WASM heap). So nothing
 * replic prepares on the caller's database may outlive the call that prepared it: patchesDdl,
 * and an openReplica that fails.
 */
import { Database, type Statement } from "node-sqlite3-wasm";
import { describe, expect, it } from "vitest";
import { openReplica, patchesDdl } from "../src/index";

/** The database, and every statement prepared on it from now on. */
function watched(): { db: Database; made: Statement[] } {
  const db = new Database(":memory:");
  const made: Statement[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    const s = prepare(sql);
    made.push(s);
    return s;
  };
  return { db, made };
}

describe("statements on the caller's database", () => {
  it("patchesDdl finalizes the statements it reads the schema with", () => {
    const { db, made } = watched();
    db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
    const ddl = patchesDdl(db, "items");
    expect(ddl).toContain('CREATE TABLE "items_patches"');
    expect(made.length).toBeGreaterThan(0);
    expect(made.filter((s) => !s.isFinalized)).toHaveLength(0);
    db.close();
  });

  it("an openReplica that fails (a scope naming a table that does not exist) leaves none open; the database still opens a replica", () => {
    const { db, made } = watched();
    db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
    db.exec(patchesDdl(db, "items"));
    expect(() => openReplica(db, { peerId: 1, heartbeatMs: 0, scope: { nope: { id: [1] } } })).toThrow(expect.objectContaining({ code: "INVALID_SCOPE" }));
    expect(made.length).toBeGreaterThan(1);
    expect(made.filter((s) => !s.isFinalized)).toHaveLength(0);
    const r = openReplica(db, { peerId: 1, heartbeatMs: 0 });
    r.upsert("items", { id: 1, name: "a" });
    expect(db.all("SELECT name FROM items")).toEqual([{ name: "a" }]);
    r.close();
    expect(made.filter((s) => !s.isFinalized)).toHaveLength(0);
    db.close();
  });
});
