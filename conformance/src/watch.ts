/**
 * watch(replica, sql, params, onRows) on every adapter: the query runs once at the start, then
 * again after each merge naming a table it reads (a local upsert, a received patch), never after
 * a write to another table or a write that went around replic; onRows hears only changed
 * results; close() stops it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, ITEMS, type Migrations } from "./harness.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";

const NOTES: Migrations = [
  ...ITEMS,
  {
    up:
      `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);\n` +
      `CREATE TABLE notes_patches (id TEXT, body TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE notes_patches; DROP TABLE notes;`,
  },
];

/** Lets the microtasks of this turn (scheduled re-runs) and one timer turn pass. */
const settle = () => new Promise((r) => setTimeout(r, 0));

function link(a: ReplicaLike, b: ReplicaLike): void {
  a.addPeer(b.peerId, (m) => b.receive(a.peerId, m));
  b.addPeer(a.peerId, (m) => a.receive(b.peerId, m));
}

export function watchSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());

  describe("watch", () => {
    it("runs at the start and after a local upsert and a received patch on its table, not after writes elsewhere", async () => {
      const a = h.open(NOTES, { peerId: 1 });
      const o = h.open(NOTES, { peerId: 2 });
      link(a.r, o.r);
      const seen: unknown[][] = [];
      // random() makes every run deliver: each call of onRows is one run of the query.
      const w = b.adapter.watch(o.r, "SELECT id, name, random() AS r FROM items WHERE qty >= ? ORDER BY id", [1], (rows) =>
        seen.push(rows.map((row) => [row.id, row.name])),
      );
      await settle();
      expect(await w.tables).toEqual(["items"]);
      expect(seen).toEqual([[]]); // the first run

      o.r.upsert("items", { id: 1, qty: 1, name: "local" });
      await settle();
      expect(seen.length).toBe(2);
      a.r.upsert("items", { id: 2, qty: 5, name: "remote" }); // received by o through the link
      await settle();
      expect(seen).toEqual([[], [[1, "local"]], [[1, "local"], [2, "remote"]]]);

      o.r.upsert("notes", { id: "n", body: "another table" });
      a.r.upsert("notes", { id: "m", body: "received, another table" });
      b.exec(o.db, "UPDATE items SET name = 'around replic' WHERE id = 1"); // no merge: no run
      await settle();
      expect(seen.length).toBe(3);

      w.close();
      o.r.upsert("items", { id: 3, qty: 9 });
      await settle();
      expect(seen.length).toBe(3);
    });

    it("calls onRows only when the result changed, once per burst, and takes (replica, sql, onRows)", async () => {
      const a = h.open(NOTES, { peerId: 1 });
      const o = h.open(NOTES, { peerId: 2 });
      link(a.r, o.r);
      const counts: number[] = [];
      const w = b.adapter.watch<{ n: number }>(o.r, "SELECT count(*) AS n FROM items", (rows) => counts.push(Number(rows[0]!.n)));
      await settle();
      o.r.upsert("items", { id: 1, name: "x" });
      await settle();
      o.r.upsert("items", { id: 1, name: "y" }); // re-runs, same count: onRows stays quiet
      await settle();
      for (let i = 10; i < 30; i++) a.r.upsert("items", { id: i }); // 20 received merges in one turn
      await settle();
      o.r.transaction(() => {
        o.r.upsert("items", { id: 100 });
        o.r.upsert("notes", { id: "n" });
      });
      await settle();
      expect(counts).toEqual([0, 1, 21, 22]);
      w.close();
    });

    it("reads a query on T_patches again when T merges, and stops when the replica closes", async () => {
      const o = h.open(NOTES, { peerId: 2 });
      const seen: number[] = [];
      const errors: unknown[] = [];
      b.adapter.watch(o.r, "SELECT count(*) AS n FROM items_patches", [], (rows) => seen.push(Number(rows[0]!.n)), {
        onError: (e) => errors.push(e),
      });
      await settle();
      o.r.upsert("items", { id: 1 });
      await settle();
      o.r.upsert("items", { id: 1, qty: 2 });
      o.r.close();
      await settle();
      expect(seen).toEqual([0, 1]);
      expect(errors).toEqual([]);
    });
  });
}
