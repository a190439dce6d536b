/**
 * The layout of `T_patches`: what patchesDdl prints now (clustered by origin and sequence) and
 * what it printed before (clustered by row) both work, converge with each other, and a table can
 * be moved from the old to the new one with the SQL block of docs/write-path.md.
 */
import Database from "better-sqlite3";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, patchesDdl, type Replica } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { rng } from "./sim.js";

const ITEMS = "CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, note TEXT, deletedAt INTEGER)";
const BY_ROW = `CREATE TABLE items_patches (id INTEGER, name TEXT, qty INTEGER, price REAL, note TEXT, deletedAt INTEGER,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
  PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`;

/** The SQL block under the `patch-layout-move` marker of docs/write-path.md. */
function moveSql(): string {
  const doc = readFileSync(new URL("../../../docs/write-path.md", import.meta.url), "utf8");
  const m = /<!-- patch-layout-move -->\s*```sql\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error("docs/write-path.md has no patch-layout-move SQL block");
  return m[1]!;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database holding `items` and its patch table in the given layout ("new": what patchesDdl prints). */
function database(layout: "new" | "by-row", file = ":memory:") {
  const d = testDriver(new Database(file));
  d.db.exec(ITEMS);
  d.db.exec(layout === "new" ? patchesDdl(d, "items") : BY_ROW);
  return d;
}

function open(layout: "new" | "by-row", peerId: number, now?: () => number, file = ":memory:") {
  const d = database(layout, file);
  const r = createReplica(d, { peerId, heartbeatMs: 0, maxClockDriftMs: 10 * 365 * 24 * 3600_000, ...(now ? { now } : {}) });
  return { d, r, db: d.db };
}

const dump = (db: Database.Database) => JSON.stringify(db.prepare("SELECT * FROM items ORDER BY id").raw(true).all());
const indexes = (db: Database.Database) =>
  (db.prepare("SELECT name FROM pragma_index_list('items_patches') ORDER BY name").pluck().all() as string[]).join(", ");

/** Random writes on random (32-bit) keys, many of them to rows another writer also writes. */
function write(r: Replica, seed: number, n: number): void {
  const g = rng(seed);
  const keys = Array.from({ length: 40 }, () => 1 + g.int(2 ** 31));
  r.transaction(() => {
    for (let i = 0; i < n; i++) {
      const row: Record<string, unknown> = { id: keys[g.int(keys.length)] };
      if (g.chance(0.7)) row.name = g.chance(0.1) ? null : `n${g.int(100)}`;
      if (g.chance(0.5)) row.qty = g.int(1000);
      if (g.chance(0.3)) row.note = g.chance(0.2) ? null : `note ${g.int(9)}`;
      r.upsert("items", row);
    }
  });
}

describe("T_patches layout", () => {
  it("patchesDdl clusters by origin and sequence, and openReplica adds no index to it", () => {
    const a = open("new", 1);
    expect(a.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'items_patches'").pluck().get()).toContain(
      'PRIMARY KEY ("_peerId", "_sequenceId")',
    );
    expect(indexes(a.db)).toBe("items_patches_row, sqlite_autoindex_items_patches_1");
    // The old layout also gets nothing added: each has the two keys the engine needs.
    const b = open("by-row", 2);
    expect(indexes(b.db)).toBe("items_patches_seq, sqlite_autoindex_items_patches_1");
    // A patch table with neither key gets both.
    const c = testDriver(new Database(":memory:"));
    c.db.exec(`${ITEMS}; CREATE TABLE items_patches (id INTEGER, name TEXT, qty INTEGER, price REAL, note TEXT, deletedAt INTEGER,
      _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL)`);
    createReplica(c, { peerId: 3, heartbeatMs: 0 });
    expect(indexes(c.db)).toBe("items_patches_replic_row, items_patches_replic_seq");
  });

  it("a collection pass walks the sequence key in order on either layout (no sort, no whole-origin scan)", () => {
    const plans: string[] = [];
    for (const layout of ["new", "by-row"] as const) {
      const d = database(layout);
      const seen: string[] = [];
      const prepare = d.prepare.bind(d);
      d.prepare = (sql, numeric) => (seen.push(sql), prepare(sql, numeric));
      const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
      r.upsert("items", { id: 1, name: "a" });
      expect(r.gc()).toBe(0); // inside the window: nothing to collect, but the end of the run is looked up
      const sql = seen.filter((q) => q.includes('"items_patches"') && /"_patchedAt" >= \?/.test(q));
      expect(sql, layout).toHaveLength(1);
      // In key order, stopping at the first young patch (an aggregate would read the whole range).
      expect(sql[0]).toMatch(/ORDER BY "_sequenceId" LIMIT 1$/);
      const plan = (d.db.prepare(`EXPLAIN QUERY PLAN ${sql[0]}`).raw(true).all(1, 1, 1) as unknown[][]).map((row) => String(row[3])).join("; ");
      plans.push(plan);
      r.close();
    }
    expect(plans[0]).toBe("SEARCH items_patches USING PRIMARY KEY (_peerId=? AND _sequenceId>?)");
    expect(plans[1]).toMatch(/^SEARCH items_patches USING (COVERING )?INDEX items_patches_seq \(_peerId=\? AND _sequenceId>\?\)$/);
  });

  it("replicas on the new and the old layout converge, late patches included", () => {
    // Writer 3's clock is behind: every patch of it reaches the others late for rows they wrote.
    const peers = [open("new", 1), open("by-row", 2), open("new", 3, () => Date.now() - 3_600_000), open("by-row", 4)];
    const sent = new Map<number, Uint8Array[]>();
    for (const p of peers) {
      const out: Uint8Array[] = [];
      sent.set(p.r.peerId, out);
      p.r.addPeer(99, (m) => out.push(m));
    }
    for (let round = 0; round < 4; round++) peers.forEach((p, i) => write(p.r, round * 10 + i, 150));
    for (const p of peers) {
      for (const [from, msgs] of sent) if (from !== p.r.peerId) for (const m of msgs) p.r.receive(99, m);
    }
    const expected = dump(peers[0]!.db);
    expect(JSON.parse(expected).length).toBeGreaterThan(100);
    for (const p of peers) expect(dump(p.db), `peer ${p.r.peerId}`).toBe(expected);
    // Served ranges read the same patches from either layout.
    for (const p of peers) expect(p.db.prepare("SELECT count(*) FROM items_patches").pluck().get()).toBe(4 * 4 * 150);
  });

  it("the documented move rebuilds an old-layout table; the replica reopens with its rows and sequence", () => {
    const dir = mkdtempSync(join(os.tmpdir(), "replic-layout-"));
    dirs.push(dir);
    const file = join(dir, "a.db");
    const a = open("by-row", 7, undefined, file);
    write(a.r, 1, 300);
    a.r.upsert("items", { id: 5, name: null, note: "explicit NULL above" });
    const rows = dump(a.db);
    const patches = JSON.stringify(a.db.prepare("SELECT * FROM items_patches ORDER BY _peerId, _sequenceId").raw(true).all());
    a.r.close();
    a.db.close();

    const db = new Database(file);
    db.exec(moveSql());
    expect(indexes(db)).toBe("items_patches_row, sqlite_autoindex_items_patches_1");
    const d = testDriver(db);
    const r = createReplica(d, { peerId: 7, heartbeatMs: 0 });
    expect(indexes(db)).toBe("items_patches_row, sqlite_autoindex_items_patches_1");
    expect(dump(db)).toBe(rows);
    expect(JSON.stringify(db.prepare("SELECT * FROM items_patches ORDER BY _peerId, _sequenceId").raw(true).all())).toBe(patches);
    expect(r.upsert("items", { id: 6, name: "after the move" })).toBe("7.302");
    // A new peer catches up from the moved table and ends with the same rows.
    const b = open("new", 8);
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    r.addPeer(8, (m) => toB.push(m));
    b.r.addPeer(7, (m) => toA.push(m));
    for (let i = 0; i < 20 && (toB.length > 0 || toA.length > 0 || i < 2); i++) {
      r.tick();
      b.r.tick();
      for (const m of toB.splice(0)) b.r.receive(7, m);
      for (const m of toA.splice(0)) r.receive(8, m);
    }
    expect(dump(b.db)).toBe(dump(db));
    r.close();
    db.close();
  });
});
