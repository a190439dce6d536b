/**
 * Rolling upgrades across a line of peers on mixed schema versions: patches naming a column or
 * table unknown to a peer are kept whole, relayed and served unchanged, and merged when that peer
 * migrates (forward, or forward again after a rollback); nothing written anywhere is lost. The
 * end state is compared with a peer that had the final schema from the start.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Migrations } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { syncWorld, type World, type WorldOpened, type WorldReplica } from "./world.js";

const NOTES = {
  up: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE notes_patches (id INTEGER, body TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
  down: `DROP TABLE notes_patches; DROP TABLE notes;`,
};
const TAG = {
  up: `ALTER TABLE notes ADD COLUMN tag TEXT; ALTER TABLE notes_patches ADD COLUMN tag TEXT;`,
  down: `ALTER TABLE notes_patches DROP COLUMN tag; ALTER TABLE notes DROP COLUMN tag;`,
};
const LABELS = {
  up: `CREATE TABLE labels (id TEXT PRIMARY KEY, color TEXT, n INTEGER); CREATE TABLE labels_patches (id TEXT, color TEXT, n INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
  down: `DROP TABLE labels_patches; DROP TABLE labels;`,
};
export const UPGRADE_V1: Migrations = [NOTES];
export const UPGRADE_V2: Migrations = [NOTES, TAG];
export const UPGRADE_V3: Migrations = [NOTES, TAG, LABELS];

interface Status {
  sequence: number;
  schema: { version: number; hash: number };
  alienPatches: { table: string; patches: number; columns: Record<string, number> }[];
  peers: { peerId: number; schema: { version: number; hash: number } | null }[];
}

/** Links whose messages wait in one queue until pumped, in order. */
class Net {
  private q: [WorldReplica, number, Uint8Array][] = [];
  async link(a: WorldReplica, b: WorldReplica): Promise<void> {
    await a.addPeer(b.peerId, (m) => void this.q.push([b, a.peerId, m]));
    await b.addPeer(a.peerId, (m) => void this.q.push([a, b.peerId, m]));
  }
  async pump(): Promise<void> {
    for (let n = 0; this.q.length > 0; n++) {
      if (n > 1_000_000) throw new Error("message storm");
      const [to, from, m] = this.q.shift()!;
      await to.receive(from, m);
    }
  }
  /** Rounds of heartbeats, gap requests and answers. */
  async sync(rs: WorldReplica[], rounds = 6): Promise<void> {
    await this.pump();
    for (let i = 0; i < rounds; i++) {
      for (const r of rs) await r.tick();
      await this.pump();
    }
  }
}

export function upgradesSuite<Db>(b: ConformanceBinding<Db>): void {
  upgradesBlock(syncWorld(b));
}

/** Rolling upgrades on any world. */
export function upgradesBlock(w: World): void {
  afterEach(() => w.closeAll());
  const status = async (o: WorldOpened) => (await o.r.status()) as Status;
  const notes = (o: WorldOpened) => o.db.all(`SELECT id, body, tag FROM notes ORDER BY id`);
  const labels = (o: WorldOpened) => o.db.all(`SELECT id, color, n FROM labels ORDER BY id`);
  const codeOf = async (fn: () => Promise<unknown>): Promise<string> => {
    try {
      await fn();
    } catch (e) {
      return String((e as { code?: unknown }).code);
    }
    return "no error";
  };
  /** Every peer's table equals the reference's, cell for cell and type for type. */
  const expectSame = async (table: string, ref: WorldOpened, others: WorldOpened[]) => {
    const want = await ref.db.dumpTable(table);
    for (const o of others) expect(await o.db.dumpTable(table), `${table} on peer ${o.r.peerId}`).toBe(want);
  };

  describe("rolling upgrades: mixed schema versions", () => {
    it("a line A–B–C upgraded one peer at a time, writes everywhere: identical at the end, every new value present", async () => {
      const net = new Net();
      const [A, B, C] = await Promise.all([1, 2, 3].map((peerId) => w.open(UPGRADE_V1, { peerId })));
      await net.link(A!.r, B!.r);
      await net.link(B!.r, C!.r);
      const all = [A!, B!, C!].map((o) => o.r);
      await A!.r.upsert("notes", { id: 1, body: "a1" });
      await B!.r.upsert("notes", { id: 2, body: "b2" });
      await C!.r.upsert("notes", { id: 3, body: "c3" });
      await net.sync(all);

      await A!.r.migrate(UPGRADE_V2);
      await A!.r.upsert("notes", { id: 1, tag: "t-a1" });
      await A!.r.upsert("notes", { id: 4, body: "a4", tag: "t-a4" });
      await B!.r.upsert("notes", { id: 2, body: "b2'" });
      await C!.r.upsert("notes", { id: 3, body: "c3'" });
      await net.sync(all);
      // B and C (v1) keep A's patches whole; their known columns merged already.
      for (const o of [B!, C!]) {
        expect((await status(o)).alienPatches).toEqual([{ table: "notes", patches: 2, columns: { tag: 2 } }]);
        expect(await o.db.all(`SELECT body FROM notes WHERE id = 4`)).toEqual([{ body: "a4" }]);
      }
      expect((await status(A!)).peers.find((p) => p.peerId === 2)!.schema!.version).toBe(1);
      expect((await status(B!)).peers.find((p) => p.peerId === 1)!.schema).toEqual((await status(A!)).schema);
      expect((await status(A!)).schema.version).toBe(2);
      expect(await B!.r.metrics()).toMatch(/replic_alien_patches\{table="notes"\} 2/);
      expect(await B!.r.metrics()).toMatch(/replic_schema_version 1/);

      await B!.r.migrate(UPGRADE_V2);
      expect((await status(B!)).alienPatches).toEqual([]);
      expect((await notes(B!))).toEqual((await notes(A!)));
      await B!.r.upsert("notes", { id: 2, tag: "t-b2" });
      await A!.r.upsert("notes", { id: 3, tag: "t-a3" });
      await C!.r.upsert("notes", { id: 5, body: "c5" });
      await net.sync(all);
      expect((await status(C!)).alienPatches).toEqual([{ table: "notes", patches: 4, columns: { tag: 4 } }]);

      await C!.r.migrate(UPGRADE_V2);
      await net.sync(all);
      const D = await w.open(UPGRADE_V2, { peerId: 9 }); // had the final schema from the start
      await net.link(C!.r, D.r);
      await net.sync([...all, D.r]);
      expect((await notes(D))).toEqual([
        { id: 1, body: "a1", tag: "t-a1" },
        { id: 2, body: "b2'", tag: "t-b2" },
        { id: 3, body: "c3'", tag: "t-a3" },
        { id: 4, body: "a4", tag: "t-a4" },
        { id: 5, body: "c5", tag: null },
      ]);
      await expectSame("notes", D, [A!, B!, C!]);
      await expectSame("notes_patches", D, [A!, B!, C!]);
      for (const o of [A!, B!, C!]) expect((await status(o)).alienPatches).toEqual([]);
    });

    it("a v1 peer between two v2 peers relays and serves the v2 columns unchanged", async () => {
      const net = new Net();
      const A = await w.open(UPGRADE_V2, { peerId: 1 });
      const B = await w.open(UPGRADE_V1, { peerId: 2 });
      const C = await w.open(UPGRADE_V2, { peerId: 3 });
      await net.link(A.r, B.r);
      await net.link(B.r, C.r);
      await A.r.upsert("notes", { id: 1, body: "x", tag: "relayed" });
      await C.r.upsert("notes", { id: 2, tag: "back" });
      await net.sync([A.r, B.r, C.r]);
      expect((await notes(C))).toEqual([
        { id: 1, body: "x", tag: "relayed" },
        { id: 2, body: null, tag: "back" },
      ]);
      expect((await notes(A))).toEqual((await notes(C)));
      expect(await B.db.all(`SELECT id, body FROM notes ORDER BY id`)).toEqual([
        { id: 1, body: "x" },
        { id: 2, body: null },
      ]);
      // A newcomer linked only to B gets them by gap repair, served whole from B's store.
      const D = await w.open(UPGRADE_V2, { peerId: 4 });
      await net.link(B.r, D.r);
      await net.sync([A.r, B.r, C.r, D.r]);
      expect((await notes(D))).toEqual((await notes(A)));
    });

    it("rollback round trip: A goes v3 → v1 → v3 while C keeps writing v3 values; nothing is lost", async () => {
      const net = new Net();
      const [A, B, C] = await Promise.all([1, 2, 3].map((peerId) => w.open(UPGRADE_V3, { peerId })));
      await net.link(A!.r, B!.r);
      await net.link(B!.r, C!.r);
      const all = [A!, B!, C!].map((o) => o.r);
      await A!.r.upsert("notes", { id: 1, body: "a1", tag: "t1" });
      await A!.r.upsert("labels", { id: "x", color: "red", n: 1 });
      await C!.r.upsert("notes", { id: 2, tag: "t2" });
      await B!.r.upsert("notes", { id: 3, tag: null, body: "b3" });
      await net.sync(all);
      const seq = (await status(A!)).sequence;

      await A!.r.migrate(UPGRADE_V1); // an older build: the stored downs drop tag and labels
      expect(await A!.db.all(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'labels'`)).toEqual([{ n: 0 }]);
      expect((await status(A!)).alienPatches).toEqual([
        { table: "labels", patches: 1, columns: { id: 1, color: 1, n: 1 } },
        { table: "notes", patches: 3, columns: { tag: 3 } },
      ]);
      expect((await status(A!)).sequence).toBe(seq);
      await C!.r.upsert("notes", { id: 1, tag: "t1-c" });
      await C!.r.upsert("labels", { id: "y", color: "blue" });
      await B!.r.upsert("labels", { id: "x", n: 2 });
      expect(await A!.r.upsert("notes", { id: 3, body: "a3" })).toBe(`1.${seq + 1}`);
      await net.sync(all);
      expect((await status(A!)).peers.find((p) => p.peerId === 2)!.schema!.version).toBe(3);

      await A!.r.migrate(UPGRADE_V3);
      expect((await status(A!)).alienPatches).toEqual([]);
      expect(await A!.r.upsert("notes", { id: 4, body: "a4" })).toBe(`1.${seq + 2}`);
      await net.sync(all);
      const D = await w.open(UPGRADE_V3, { peerId: 9 });
      await net.link(A!.r, D.r);
      await net.sync([...all, D.r]);
      expect((await notes(D))).toEqual([
        { id: 1, body: "a1", tag: "t1-c" },
        { id: 2, body: null, tag: "t2" },
        { id: 3, body: "a3", tag: null },
        { id: 4, body: "a4", tag: null },
      ]);
      expect((await labels(D))).toEqual([
        { id: "x", color: "red", n: 2 },
        { id: "y", color: "blue", n: null },
      ]);
      for (const t of ["notes", "labels", "notes_patches", "labels_patches"]) await expectSame(t, D, [A!, B!, C!]);
    });

    it("a table added on one peer first: its patches wait on the others and merge when they migrate", async () => {
      const net = new Net();
      const [A, B, C] = await Promise.all([1, 2, 3].map((peerId) => w.open(UPGRADE_V2, { peerId })));
      await net.link(A!.r, B!.r);
      await net.link(B!.r, C!.r);
      const all = [A!, B!, C!].map((o) => o.r);
      await A!.r.migrate(UPGRADE_V3);
      await A!.r.upsert("labels", { id: "a", color: "red" });
      await A!.r.upsert("labels", { id: "b", n: 5 });
      await A!.r.upsert("notes", { id: 1, body: "known everywhere" });
      await net.sync(all);
      for (const o of [B!, C!]) {
        expect((await status(o)).alienPatches).toEqual([{ table: "labels", patches: 2, columns: { id: 2, color: 1, n: 1 } }]);
        expect((await notes(o))).toEqual([{ id: 1, body: "known everywhere", tag: null }]);
        expect(await codeOf(() => o.r.upsert("labels", { id: "c" }))).toBe("UNKNOWN_TABLE");
      }
      await B!.r.migrate(UPGRADE_V3);
      expect((await labels(B!))).toEqual((await labels(A!)));
      await B!.r.upsert("labels", { id: "a", n: 7 });
      await net.sync(all);
      expect((await status(C!)).alienPatches[0]!.patches).toBe(3);
      await C!.r.migrate(UPGRADE_V3);
      await net.sync(all);
      expect((await labels(C!))).toEqual([
        { id: "a", color: "red", n: 7 },
        { id: "b", color: null, n: 5 },
      ]);
      await expectSame("labels", A!, [B!, C!]);
      await expectSame("labels_patches", A!, [B!, C!]);
    });
  });
}
