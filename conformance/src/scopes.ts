/**
 * Scopes and authorization on every binding (docs/scopes.md): a scope that does not fit the
 * schema refuses the open and changes nothing; a local write outside the scope writes nothing; a
 * neighbour writing outside its allow is refused whole at the hub and never reaches the other
 * tenant's spoke, while honest writes converge to identical tables.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Harness } from "./harness.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { dumpDatabase, dumpTable } from "./util.js";

const DDL = `CREATE TABLE items (id INTEGER NOT NULL, tenantId INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, tenantId));
CREATE TABLE items_patches (id INTEGER, tenantId INTEGER, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);
CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT);
CREATE TABLE tags_patches (tag TEXT, color TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;

interface ScopeStatus {
  scope: unknown;
  sequence: number;
  peers: { peerId: number; allow: unknown; outOfScope: number }[];
}

export function scopesSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as { code?: string })?.code ?? String(e);
    }
    return "no error";
  };
  const open = (peerId: number, scope?: { [table: string]: { [keyColumn: string]: (number | string)[] } }) => {
    const db = h.db();
    b.exec(db, DDL);
    const r = h.replica(db, { peerId, retentionMs: 0, ...(scope ? { scope } : {}) });
    return { db, r, items: () => dumpTable(b, db, "items"), status: () => r.status() as ScopeStatus };
  };

  describe("scopes", () => {
    it("a scope that does not fit the schema refuses the open with INVALID_SCOPE and changes nothing", () => {
      const db = h.db();
      b.exec(db, DDL);
      const before = dumpDatabase(b, db);
      for (const scope of [{}, { items: {} }, { nope: { id: [1] } }, { items: { name: ["a"] } }, { items: { tenantId: ["one"] } }, { items: { tenantId: 1 } }]) {
        expect(codeOf(() => h.replica(db, { scope: scope as never })), JSON.stringify(scope)).toBe("INVALID_SCOPE");
      }
      expect(dumpDatabase(b, db)).toEqual(before);
      const r = h.replica(db, { scope: { items: { tenantId: [1, "2"] }, tags: { tag: [7] } } });
      expect((r.status() as ScopeStatus).scope).toEqual({ items: { tenantId: [1, 2] }, tags: { tag: ["7"] } });
    });

    it("a local write outside the scope fails with OUT_OF_SCOPE and writes nothing", () => {
      const x = open(1, { items: { tenantId: [1] }, tags: { tag: [7] } });
      const before = dumpDatabase(b, x.db);
      expect(codeOf(() => x.r.upsert("items", { id: 1, tenantId: 2 }))).toBe("OUT_OF_SCOPE");
      expect(codeOf(() => x.r.upsertMany("items", [{ id: 1, tenantId: 1 }, { id: 2, tenantId: 2 }]))).toBe("OUT_OF_SCOPE");
      expect(
        codeOf(() =>
          x.r.transaction(() => {
            x.r.upsert("items", { id: 1, tenantId: 1 });
            x.r.upsert("tags", { tag: "8" });
          }),
        ),
      ).toBe("OUT_OF_SCOPE");
      expect(dumpDatabase(b, x.db)).toEqual(before);
      expect(x.status().sequence).toBe(0);
      x.r.upsert("items", { id: 1, tenantId: 1, name: "in" });
      x.r.upsert("tags", { tag: 7, color: "red" }); // stored as the text "7"
      expect(x.status().sequence).toBe(2);
    });

    it("a spoke writing outside its allow is refused at the hub and never reaches the other tenant; honest writes converge", () => {
      const hub = open(100);
      const rogue = open(1);
      const t2 = open(2, { items: { tenantId: [2] } });
      const q: Array<() => void> = [];
      const refused: string[] = [];
      const link = (x: ReplicaLike, y: ReplicaLike, allowAtX: { [t: string]: { [c: string]: number[] } }) => {
        const deliver = (to: ReplicaLike, from: number, m: Uint8Array) => () => {
          try {
            to.receive(from, m);
          } catch (e) {
            refused.push(`${to.peerId}<-${from}:${(e as { code?: string }).code}`);
          }
        };
        x.addPeer(y.peerId, (m) => q.push(deliver(y, x.peerId, m.slice())), { allow: allowAtX });
        y.addPeer(x.peerId, (m) => q.push(deliver(x, y.peerId, m.slice())));
      };
      link(hub.r, rogue.r, { items: { tenantId: [1] } });
      link(hub.r, t2.r, { items: { tenantId: [2] } });
      const drain = () => {
        for (let round = 0; round < 4; round++) {
          for (const x of [hub, rogue, t2]) x.r.tick();
          while (q.length) q.shift()!();
        }
      };
      hub.r.upsert("items", { id: 1, tenantId: 1, name: "hub" });
      rogue.r.upsert("items", { id: 2, tenantId: 1, name: "rogue" });
      rogue.r.upsert("items", { id: 3, tenantId: 2, name: "outside its allow" });
      rogue.r.upsert("items", { id: 4, tenantId: 1, name: "rogue again" });
      t2.r.upsert("items", { id: 5, tenantId: 2, name: "t2" });
      drain();
      expect(hub.items()).toBe(t2.items());
      expect(hub.items()).not.toContain("outside its allow");
      expect(hub.items()).toContain("rogue again");
      expect(rogue.items()).toContain("outside its allow");
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(new Set(refused)).toEqual(new Set(["100<-1:OUT_OF_SCOPE"]));
      expect(hub.status().peers.find((p) => p.peerId === 1)).toMatchObject({ allow: { items: { tenantId: [1] } }, outOfScope: refused.length });
    });
  });
}
