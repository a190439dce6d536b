/**
 * Rolling upgrades across a line of peers on mixed schema versions: patches naming a column or
 * table unknown to a peer are kept whole, relayed and served unchanged, and merged when that peer
 * migrates (forward, or forward again after a rollback); nothing written anywhere is lost. The
 * end state is compared with a peer that had the final schema from the start.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Harness, type Migrations, type Opened } from "./harness.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { dumpTable } from "./util.js";

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
  private q: [ReplicaLike, number, Uint8Array][] = [];
  link(a: ReplicaLike, b: ReplicaLike): void {
    a.addPeer(b.peerId, (m) => this.q.push([b, a.peerId, m]));
    b.addPeer(a.peerId, (m) => this.q.push([a, b.peerId, m]));
  }
  pump(): void {
    for (let n = 0; this.q.length > 0; n++) {
      if (n > 1_000_000) throw new Error("message storm");
      const [to, from, m] = this.q.shift()!;
      to.receive(from, m);
    }
  }
  /** Rounds of heartbeats, gap requests and answers. */
  sync(rs: ReplicaLike[], rounds = 6): void {
    this.pump();
    for (let i = 0; i < rounds; i++) {
      for (const r of rs) r.tick();
      this.pump();
    }
  }
}

export function upgradesSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());
  const status = (o: Opened<Db>) => o.r.status() as Status;
  const notes = (o: Opened<Db>) => b.all(o.db, `SELECT id, body, tag FROM notes ORDER BY id`);
  const labels = (o: Opened<Db>) => b.all(o.db, `SELECT id, color, n FROM labels ORDER BY id`);
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return String((e as { code?: unknown }).code);
    }
    return "no error";
  };
  /** Every peer's table equals the reference's, cell for cell and type for type. */
  const expectSame = (table: string, ref: Opened<Db>, others: Opened<Db>[]) => {
    const want = dumpTable(b, ref.db, table);
    for (const o of others) expect(dumpTable(b, o.db, table), `${table} on peer ${o.r.peerId}`).toBe(want);
  };

  describe("rolling upgrades: mixed schema versions", () => {
    it("a line A–B–C upgraded one peer at a time, writes everywhere: identical at the end, every new value present", () => {
      const net = new Net();
      const [A, B, C] = [1, 2, 3].map((peerId) => h.open(UPGRADE_V1, { peerId }));
      net.link(A!.r, B!.r);
      net.link(B!.r, C!.r);
      const all = [A!, B!, C!].map((o) => o.r);
      A!.r.upsert("notes", { id: 1, body: "a1" });
      B!.r.upsert("notes", { id: 2, body: "b2" });
      C!.r.upsert("notes", { id: 3, body: "c3" });
      net.sync(all);

      A!.r.migrate(UPGRADE_V2);
      A!.r.upsert("notes", { id: 1, tag: "t-a1" });
      A!.r.upsert("notes", { id: 4, body: "a4", tag: "t-a4" });
      B!.r.upsert("notes", { id: 2, body: "b2'" });
      C!.r.upsert("notes", { id: 3, body: "c3'" });
      net.sync(all);
      // B and C (v1) keep A's patches whole; their known columns merged already.
      for (const o of [B!, C!]) {
        expect(status(o).alienPatches).toEqual([{ table: "notes", patches: 2, columns: { tag: 2 } }]);
        expect(b.all(o.db, `SELECT body FROM notes WHERE id = 4`)).toEqual([{ body: "a4" }]);
      }
      expect(status(A!).peers.find((p) => p.peerId === 2)!.schema!.version).toBe(1);
      expect(status(B!).peers.find((p) => p.peerId === 1)!.schema).toEqual(status(A!).schema);
      expect(status(A!).schema.version).toBe(2);
      expect(B!.r.metrics()).toMatch(/replic_alien_patches\{table="notes"\} 2/);
      expect(B!.r.metrics()).toMatch(/replic_schema_version 1/);

      B!.r.migrate(UPGRADE_V2);
      expect(status(B!).alienPatches).toEqual([]);
      expect(notes(B!)).toEqual(notes(A!));
      B!.r.upsert("notes", { id: 2, tag: "t-b2" });
      A!.r.upsert("notes", { id: 3, tag: "t-a3" });
      C!.r.upsert("notes", { id: 5, body: "c5" });
      net.sync(all);
      expect(status(C!).alienPatches).toEqual([{ table: "notes", patches: 4, columns: { tag: 4 } }]);

      C!.r.migrate(UPGRADE_V2);
      net.sync(all);
      const D = h.open(UPGRADE_V2, { peerId: 9 }); // had the final schema from the start
      net.link(C!.r, D.r);
      net.sync([...all, D.r]);
      expect(notes(D)).toEqual([
        { id: 1, body: "a1", tag: "t-a1" },
        { id: 2, body: "b2'", tag: "t-b2" },
        { id: 3, body: "c3'", tag: "t-a3" },
        { id: 4, body: "a4", tag: "t-a4" },
        { id: 5, body: "c5", tag: null },
      ]);
      expectSame("notes", D, [A!, B!, C!]);
      expectSame("notes_patches", D, [A!, B!, C!]);
      for (const o of [A!, B!, C!]) expect(status(o).alienPatches).toEqual([]);
    });

    it("a v1 peer between two v2 peers relays and serves the v2 columns unchanged", () => {
      const net = new Net();
      const A = h.open(UPGRADE_V2, { peerId: 1 });
      const B = h.open(UPGRADE_V1, { peerId: 2 });
      const C = h.open(UPGRADE_V2, { peerId: 3 });
      net.link(A.r, B.r);
      net.link(B.r, C.r);
      A.r.upsert("notes", { id: 1, body: "x", tag: "relayed" });
      C.r.upsert("notes", { id: 2, tag: "back" });
      net.sync([A.r, B.r, C.r]);
      expect(notes(C)).toEqual([
        { id: 1, body: "x", tag: "relayed" },
        { id: 2, body: null, tag: "back" },
      ]);
      expect(notes(A)).toEqual(notes(C));
      expect(b.all(B.db, `SELECT id, body FROM notes ORDER BY id`)).toEqual([
        { id: 1, body: "x" },
        { id: 2, body: null },
      ]);
      // A newcomer linked only to B gets them by gap repair, served whole from B's store.
      const D = h.open(UPGRADE_V2, { peerId: 4 });
      net.link(B.r, D.r);
      net.sync([A.r, B.r, C.r, D.r]);
      expect(notes(D)).toEqual(notes(A));
    });

    it("rollback round trip: A goes v3 → v1 → v3 while C keeps writing v3 values; nothing is lost", () => {
      const net = new Net();
      const [A, B, C] = [1, 2, 3].map((peerId) => h.open(UPGRADE_V3, { peerId }));
      net.link(A!.r, B!.r);
      net.link(B!.r, C!.r);
      const all = [A!, B!, C!].map((o) => o.r);
      A!.r.upsert("notes", { id: 1, body: "a1", tag: "t1" });
      A!.r.upsert("labels", { id: "x", color: "red", n: 1 });
      C!.r.upsert("notes", { id: 2, tag: "t2" });
      B!.r.upsert("notes", { id: 3, tag: null, body: "b3" });
      net.sync(all);
      const seq = status(A!).sequence;

      A!.r.migrate(UPGRADE_V1); // an older build: the stored downs drop tag and labels
      expect(b.all(A!.db, `SELECT count(*) AS n FROM sqlite_master WHERE name = 'labels'`)).toEqual([{ n: 0 }]);
      expect(status(A!).alienPatches).toEqual([
        { table: "labels", patches: 1, columns: { id: 1, color: 1, n: 1 } },
        { table: "notes", patches: 3, columns: { tag: 3 } },
      ]);
      expect(status(A!).sequence).toBe(seq);
      C!.r.upsert("notes", { id: 1, tag: "t1-c" });
      C!.r.upsert("labels", { id: "y", color: "blue" });
      B!.r.upsert("labels", { id: "x", n: 2 });
      expect(A!.r.upsert("notes", { id: 3, body: "a3" })).toBe(`1.${seq + 1}`);
      net.sync(all);
      expect(status(A!).peers.find((p) => p.peerId === 2)!.schema!.version).toBe(3);

      A!.r.migrate(UPGRADE_V3);
      expect(status(A!).alienPatches).toEqual([]);
      expect(A!.r.upsert("notes", { id: 4, body: "a4" })).toBe(`1.${seq + 2}`);
      net.sync(all);
      const D = h.open(UPGRADE_V3, { peerId: 9 });
      net.link(A!.r, D.r);
      net.sync([...all, D.r]);
      expect(notes(D)).toEqual([
        { id: 1, body: "a1", tag: "t1-c" },
        { id: 2, body: null, tag: "t2" },
        { id: 3, body: "a3", tag: null },
        { id: 4, body: "a4", tag: null },
      ]);
      expect(labels(D)).toEqual([
        { id: "x", color: "red", n: 2 },
        { id: "y", color: "blue", n: null },
      ]);
      for (const t of ["notes", "labels", "notes_patches", "labels_patches"]) expectSame(t, D, [A!, B!, C!]);
    });

    it("a table added on one peer first: its patches wait on the others and merge when they migrate", () => {
      const net = new Net();
      const [A, B, C] = [1, 2, 3].map((peerId) => h.open(UPGRADE_V2, { peerId }));
      net.link(A!.r, B!.r);
      net.link(B!.r, C!.r);
      const all = [A!, B!, C!].map((o) => o.r);
      A!.r.migrate(UPGRADE_V3);
      A!.r.upsert("labels", { id: "a", color: "red" });
      A!.r.upsert("labels", { id: "b", n: 5 });
      A!.r.upsert("notes", { id: 1, body: "known everywhere" });
      net.sync(all);
      for (const o of [B!, C!]) {
        expect(status(o).alienPatches).toEqual([{ table: "labels", patches: 2, columns: { id: 2, color: 1, n: 1 } }]);
        expect(notes(o)).toEqual([{ id: 1, body: "known everywhere", tag: null }]);
        expect(codeOf(() => o.r.upsert("labels", { id: "c" }))).toBe("UNKNOWN_TABLE");
      }
      B!.r.migrate(UPGRADE_V3);
      expect(labels(B!)).toEqual(labels(A!));
      B!.r.upsert("labels", { id: "a", n: 7 });
      net.sync(all);
      expect(status(C!).alienPatches[0]!.patches).toBe(3);
      C!.r.migrate(UPGRADE_V3);
      net.sync(all);
      expect(labels(C!)).toEqual([
        { id: "a", color: "red", n: 7 },
        { id: "b", color: null, n: 5 },
      ]);
      expectSame("labels", A!, [B!, C!]);
      expectSame("labels_patches", A!, [B!, C!]);
    });
  });
}
