/**
 * Divergence on every binding: a row changed by direct SQL on one replica, and a flipped byte in
 * a stored value of a database file, are found by the scrub of heartbeat rounds within a few
 * rounds, named by table, key and kind, and rebuilt from the patches until both replicas are
 * identical again; a rebuild keeps parked rows parked; an unknown table is refused and changes
 * nothing (docs/trust.md).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Harness, ITEMS } from "./harness.js";
import type { ConformanceBinding, DivergenceEventLike, ReplicaLike } from "./types.js";
import { dumpTable } from "./util.js";

/** Delivers every message between two linked replicas, ticking both, until nothing is in flight. */
function link(a: ReplicaLike, b: ReplicaLike): (rounds?: number) => void {
  const queue: [ReplicaLike, number, Uint8Array][] = [];
  a.addPeer(b.peerId, (m) => queue.push([b, a.peerId, m]));
  b.addPeer(a.peerId, (m) => queue.push([a, b.peerId, m]));
  return (rounds = 5) => {
    for (let round = 0; round < rounds; round++) {
      a.tick();
      b.tick();
      while (queue.length > 0) {
        const [to, from, m] = queue.shift()!;
        to.receive(from, m);
      }
    }
  };
}

export function divergenceSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  const dirs: string[] = [];
  afterEach(() => {
    h.closeAll();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const rows = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, qty: i, price: i / 4, name: `item-${String(i + 1).padStart(4, "0")}`, data: new Uint8Array([i, 255 - i]) }));

  describe("divergence", () => {
    it("a row changed by direct SQL on one replica is found by the scrub, localised, rebuilt, and both replicas are identical again", () => {
      const a = h.open(ITEMS, { peerId: 1, scrub: { rowsPerRound: 0 } });
      const bb = h.open(ITEMS, { peerId: 2, scrub: { rowsPerRound: 16 } });
      const events: DivergenceEventLike[] = [];
      bb.r.on("divergence", (e) => events.push(e));
      const sync = link(a.r, bb.r);
      a.r.upsertMany("items", rows);
      a.r.upsert("items", { id: 7, deletedAt: 1 }); // a soft delete: a value like any other
      sync();
      expect(dumpTable(b, bb.db, "items")).toBe(dumpTable(b, a.db, "items"));
      expect(events).toEqual([]);
      b.exec(bb.db, "UPDATE items SET price = 1e9 WHERE id = 23");
      b.exec(bb.db, "UPDATE items SET deletedAt = NULL WHERE id = 7");
      b.exec(bb.db, "DELETE FROM items WHERE id = 31");
      sync(8); // 16 keys a round: both walks of 40 keys each, and the re-checks of what was found
      const found = (kind: string) => events.filter((e) => e.kind === kind).flatMap((e) => e.keys);
      expect(found("changed")).toEqual([{ id: 7 }, { id: 23 }]);
      expect(found("missing")).toEqual([{ id: 31 }]);
      expect(events.every((e) => e.table === "items" && !e.repaired && e.keys.length > 0)).toBe(true);
      expect((bb.r.status() as { divergent: unknown }).divergent).toEqual([{ table: "items", rows: 3 }]);
      expect(dumpTable(b, bb.db, "items")).not.toBe(dumpTable(b, a.db, "items"));
      const report = bb.r.rebuild();
      expect(report).toEqual([{ table: "items", changed: 3, inserted: 1, updated: 2, removed: 0, keys: [{ id: 7 }, { id: 23 }, { id: 31 }] }]);
      expect(dumpTable(b, bb.db, "items")).toBe(dumpTable(b, a.db, "items"));
      expect((bb.r.status() as { divergent: unknown }).divergent).toEqual([]);
      // Writes go on replicating after the repair.
      a.r.upsert("items", { id: 23, price: 2.5 });
      sync();
      expect(dumpTable(b, bb.db, "items")).toBe(dumpTable(b, a.db, "items"));
    });

    it("a flipped byte in a stored value of T in the database file is found after reopening and repaired (repair: rebuild)", () => {
      const dir = mkdtempSync(join(tmpdir(), `replic-divergence-${b.name}-`));
      dirs.push(dir);
      const path = join(dir, "b.db");
      const a = h.open(ITEMS, { peerId: 1, scrub: { rowsPerRound: 0 } });
      const db1 = b.openDatabase(path);
      b.exec(db1, "PRAGMA journal_mode = DELETE");
      const r1 = b.adapter.openReplica(db1, { peerId: 2, heartbeatMs: 0 });
      r1.migrate(ITEMS);
      const sync = link(a.r, r1);
      a.r.upsertMany("items", rows);
      sync();
      const rootPage = Number(b.all(db1, "SELECT rootpage FROM sqlite_schema WHERE name = 'items'")[0]!.rootpage);
      const pageSize = Number(b.all(db1, "PRAGMA page_size")[0]!.page_size);
      r1.close();
      b.closeDatabase(db1);
      // The value "item-0012" of T lives in T's b-tree (T_patches holds it too, in its own pages).
      const file = readFileSync(path);
      const table = file.subarray((rootPage - 1) * pageSize, rootPage * pageSize);
      const at = table.indexOf(Buffer.from("item-0012"));
      expect(at, "the value is stored in T's root page").toBeGreaterThanOrEqual(0);
      file[(rootPage - 1) * pageSize + at + 5] ^= 0x04; // "item-0012" becomes "item-4012"
      writeFileSync(path, file);

      const db2 = h.db(path);
      const name = (id: number) => b.all(db2, `SELECT name FROM items WHERE id = ${id}`)[0]!.name;
      expect(name(12)).toBe("item-4012");
      const r2 = h.replica(db2, { peerId: 2, scrub: { rowsPerRound: 25 }, repair: "rebuild" });
      const events: DivergenceEventLike[] = [];
      r2.on("divergence", (e) => events.push(e));
      for (let i = 0; i < 4; i++) r2.tick();
      expect(events).toEqual([{ table: "items", kind: "changed", keys: [{ id: 12 }], range: { from: { id: 12 }, to: { id: 12 } }, repaired: true }]);
      expect(name(12)).toBe("item-0012");
      expect(dumpTable(b, db2, "items")).toBe(dumpTable(b, a.db, "items"));
      expect((r2.status() as { divergent: unknown }).divergent).toEqual([]);
    });

    it("a rebuild leaves parked rows parked and puts a parked row shown by hand back out of T", () => {
      const ddl = (title: string) =>
        `CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT ${title}, pages INTEGER CHECK (pages > 0));\n` +
        `CREATE TABLE books_patches (id TEXT, title TEXT, pages INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
      // The writer's schema has no NOT NULL on title; the receiver's has: a book without a title is parked there.
      const w = h.open([{ up: ddl(""), down: "DROP TABLE books_patches; DROP TABLE books;" }], { peerId: 1 });
      const r = h.open([{ up: ddl("NOT NULL"), down: "DROP TABLE books_patches; DROP TABLE books;" }], { peerId: 2 });
      const sync = link(w.r, r.r);
      w.r.upsert("books", { id: "b1", pages: 10 });
      w.r.upsert("books", { id: "b2", title: "Two", pages: 20 });
      sync();
      expect(r.r.parked().map((p) => [p.key, p.reason])).toEqual([[{ id: "b1" }, "incomplete"]]);
      const shown = dumpTable(b, r.db, "books");
      expect(r.r.rebuild()).toEqual([{ table: "books", changed: 0, inserted: 0, updated: 0, removed: 0, keys: [] }]);
      expect(dumpTable(b, r.db, "books")).toBe(shown);
      b.exec(r.db, "INSERT INTO books (id, title, pages) VALUES ('b1', 'forced', 10)");
      expect(r.r.rebuild("books")).toEqual([{ table: "books", changed: 1, inserted: 0, updated: 0, removed: 1, keys: [{ id: "b1" }] }]);
      expect(dumpTable(b, r.db, "books")).toBe(shown);
      expect(r.r.parked().map((p) => p.key)).toEqual([{ id: "b1" }]);
    });

    it("values of every storage class in columns of every affinity, merged here and received there: no false divergence", () => {
      const ddl =
        `CREATE TABLE zoo (id INTEGER PRIMARY KEY, u, n NUMERIC, t TEXT, r REAL, i INTEGER, b BLOB, d DATETIME, k TEXT COLLATE NOCASE);\n` +
        `CREATE TABLE zoo_patches (id INTEGER, u, n NUMERIC, t TEXT, r REAL, i INTEGER, b BLOB, d DATETIME, k TEXT COLLATE NOCASE,\n` +
        `  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
      const migrations = [{ up: ddl, down: "DROP TABLE zoo_patches; DROP TABLE zoo;" }];
      const a = h.open(migrations, { peerId: 1, scrub: { rowsPerRound: 1000 } });
      const c = h.open(migrations, { peerId: 2, scrub: { rowsPerRound: 1000 } });
      const events: DivergenceEventLike[] = [];
      a.r.on("divergence", (e) => events.push(e));
      c.r.on("divergence", (e) => events.push(e));
      const sync = link(a.r, c.r);
      const values: unknown[] = [null, 0, 1, -7, 1.5, 2.0, 1e300, 2n ** 62n, "3", " 12 ", "12.50", "abc", "ABC", "2026-01-02 03:04:05", new Uint8Array([0, 1, 255]), true];
      let id = 0;
      let written = 0;
      for (const col of ["u", "n", "t", "r", "i", "b", "d", "k"]) {
        for (const v of values) {
          try {
            a.r.upsert("zoo", { id: ++id, [col]: v });
            written++;
          } catch {
            // refused for this column (a typed error): nothing written, nothing to compare
          }
          if (id % 3 === 0) a.r.upsert("zoo", { id, [col]: null }); // an explicit NULL over it
        }
      }
      expect(written).toBeGreaterThan(100);
      sync(3);
      expect(dumpTable(b, c.db, "zoo")).toBe(dumpTable(b, a.db, "zoo"));
      for (const r of [a.r, c.r]) {
        for (let i = 0; i < 3; i++) r.tick();
        expect(r.rebuild()).toEqual([{ table: "zoo", changed: 0, inserted: 0, updated: 0, removed: 0, keys: [] }]);
      }
      expect(events).toEqual([]);
    });

    it("rebuild of an unknown table is refused, typed, and changes nothing", () => {
      const o = h.open(ITEMS, { peerId: 1, scrub: { rowsPerRound: 0 } });
      o.r.upsert("items", { id: 1, name: "kept" });
      b.exec(o.db, "UPDATE items SET name = 'changed by hand'");
      const before = dumpTable(b, o.db, "items");
      let thrown: unknown;
      try {
        o.r.rebuild("no_such_table");
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(b.adapter.ReplicError);
      expect((thrown as { code: string }).code).toBe("UNKNOWN_TABLE");
      expect(dumpTable(b, o.db, "items")).toBe(before);
    });
  });
}
