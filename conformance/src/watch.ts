/**
 * watch(replica, sql, params, onRows) on every adapter: the query runs once at the start, then
 * again after each merge naming a table it reads (a local upsert, a received patch), never after
 * a write to another table or a write that went around replic; onRows hears only changed
 * results; close() stops it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ITEMS, type Migrations } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { syncWorld, type World, type WorldReplica } from "./world.js";

const NOTES: Migrations = [
  ...ITEMS,
  {
    up:
      `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);\n` +
      `CREATE TABLE notes_patches (id TEXT, body TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE notes_patches; DROP TABLE notes;`,
  },
];

async function link(a: WorldReplica, b: WorldReplica): Promise<void> {
  await a.addPeer(b.peerId, (m) => b.receive(a.peerId, m));
  await b.addPeer(a.peerId, (m) => a.receive(b.peerId, m));
}

export function watchSuite<Db>(b: ConformanceBinding<Db>): void {
  watchBlock(syncWorld(b));
}

/** watch() on any world; `w.settle()` lets the microtasks of this turn (scheduled re-runs) and one timer turn pass. */
export function watchBlock(w: World): void {
  afterEach(() => w.closeAll());
  const settle = () => w.settle();

  describe("watch", () => {
    it("runs at the start and after a local upsert and a received patch on its table, not after writes elsewhere", async () => {
      const a = await w.open(NOTES, { peerId: 1 });
      const o = await w.open(NOTES, { peerId: 2 });
      await link(a.r, o.r);
      const seen: unknown[][] = [];
      // random() makes every run deliver: each call of onRows is one run of the query.
      const wt = await w.watch<Record<string, unknown>>(o.r, "SELECT id, name, random() AS r FROM items WHERE qty >= ? ORDER BY id", [1], (rows) =>
        seen.push(rows.map((row) => [row.id, row.name])),
      );
      await settle();
      expect(await wt.tables).toEqual(["items"]);
      expect(seen).toEqual([[]]); // the first run

      await o.r.upsert("items", { id: 1, qty: 1, name: "local" });
      await settle();
      expect(seen.length).toBe(2);
      await a.r.upsert("items", { id: 2, qty: 5, name: "remote" }); // received by o through the link
      await settle();
      expect(seen).toEqual([[], [[1, "local"]], [[1, "local"], [2, "remote"]]]);

      await o.r.upsert("notes", { id: "n", body: "another table" });
      await a.r.upsert("notes", { id: "m", body: "received, another table" });
      await o.db.exec("UPDATE items SET name = 'around replic' WHERE id = 1"); // no merge: no run
      await settle();
      expect(seen.length).toBe(3);

      await wt.close();
      await o.r.upsert("items", { id: 3, qty: 9 });
      await settle();
      expect(seen.length).toBe(3);
    });

    it("calls onRows only when the result changed, once per burst, and takes (replica, sql, onRows)", async () => {
      const a = await w.open(NOTES, { peerId: 1 });
      const o = await w.open(NOTES, { peerId: 2 });
      // a's messages wait here, so that o can receive a burst of them in one turn.
      const fromA: Uint8Array[] = [];
      await a.r.addPeer(2, (m) => void fromA.push(new Uint8Array(m)));
      await o.r.addPeer(1, () => {});
      const counts: number[] = [];
      const wt = await w.watch<{ n: number }>(o.r, "SELECT count(*) AS n FROM items", (rows) => counts.push(Number(rows[0]!.n)));
      await settle();
      await o.r.upsert("items", { id: 1, name: "x" });
      await settle();
      await o.r.upsert("items", { id: 1, name: "y" }); // re-runs, same count: onRows stays quiet
      await settle();
      for (let i = 10; i < 30; i++) await a.r.upsert("items", { id: i });
      await o.r.sameTurn(fromA.splice(0).map((message) => ({ op: "receive" as const, from: 1, message }))); // 20 received merges in one turn
      await settle();
      await o.r.transaction([
        { table: "items", row: { id: 100 } },
        { table: "notes", row: { id: "n" } },
      ]);
      await settle();
      expect(counts).toEqual([0, 1, 21, 22]);
      await wt.close();
    });

    it("reads a query on T_patches again when T merges, and stops when the replica closes", async () => {
      const o = await w.open(NOTES, { peerId: 2 });
      const seen: number[] = [];
      const errors: unknown[] = [];
      await w.watch<Record<string, unknown>>(o.r, "SELECT count(*) AS n FROM items_patches", [], (rows) => seen.push(Number(rows[0]!.n)), {
        onError: (e) => errors.push(e),
      });
      await settle();
      await o.r.upsert("items", { id: 1 });
      await settle();
      await o.r.sameTurn([{ op: "upsert", table: "items", row: { id: 1, qty: 2 } }, { op: "close" }]); // closed before the re-run
      await settle();
      expect(seen).toEqual([0, 1]);
      expect(errors).toEqual([]);
    });
  });
}
