/**
 * Captured tables (src/capture-queue.ts and the drain in src/local-writes.ts): plain INSERT /
 * UPDATE on the replica's connection become patches with exactly the columns the statement set,
 * in the application's transaction; replic's own merges and other connections are not captured.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, decodeMessage, isReplicError, type Patch, type Replica, type ReplicaOptions } from "../../src/index.js";
import { CAPTURE_QUEUE_PREFIX } from "../../src/capture-queue.js";
import { testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

const TAGS_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT, n ANY);
CREATE TABLE tags_patches (tag TEXT, color TEXT, n ANY, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
const DDL = `${itemsDdl(false)}\n${TAGS_DDL}`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(peerId: number, options: ReplicaOptions = {}, db = new Database(":memory:"), ddl = DDL) {
  if (ddl) db.exec(ddl);
  const driver = testDriver(db);
  const replica = createReplica(driver, { peerId, heartbeatMs: 0, ...options });
  const sent: Uint8Array[] = [];
  return { db, replica, sent };
}

/** The patches of every message `sent` holds (heartbeats skipped), emptied; `groups` collects their groups. */
function patchesOf(sent: Uint8Array[], groups: unknown[] = []): Patch[] {
  const out: Patch[] = [];
  for (const m of sent.splice(0)) {
    const msg = decodeMessage(m);
    if (msg.kind !== "patches") continue;
    out.push(...msg.patches);
    groups.push(...(msg.groups ?? []));
  }
  return out;
}

/** Delivers everything both ways until quiet. */
function settle(a: Replica, b: Replica, qa: Uint8Array[], qb: Uint8Array[]): void {
  for (let i = 0; i < 20; i++) {
    a.tick();
    b.tick();
    if (qa.length === 0 && qb.length === 0) return;
    for (const m of qa.splice(0)) b.receive(a.peerId, m);
    for (const m of qb.splice(0)) a.receive(b.peerId, m);
  }
}

function rows(db: Database.Database, table = "items") {
  return db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all();
}

describe("captured tables", () => {
  it("an UPDATE is a patch of exactly the columns its SET names; an INSERT sets every column", () => {
    const { db, replica, sent } = open(1, { capture: ["items"] });
    replica.addPeer(2, (m) => sent.push(m));
    db.prepare("INSERT INTO items (id, name, qty) VALUES (1, 'a', 3)").run();
    expect(replica.flush()).toBe("1.1");
    db.prepare("UPDATE items SET qty = 4 WHERE id = 1").run();
    db.prepare("UPDATE items SET name = NULL WHERE id = 1").run();
    // Set to its same value: still set.
    db.prepare("UPDATE items SET price = NULL WHERE id = 1").run();
    expect(replica.flush()).toBe("1.2");
    const ps = patchesOf(sent);
    expect(ps.map((p) => [p.seq, p.values])).toEqual([
      [1, { id: 1, name: "a", qty: 3, price: null, deletedAt: null }],
      [2, { id: 1, qty: 4, name: null, price: null }],
    ]);
    expect(ps[1]!.patchedAt).toBeGreaterThan(ps[0]!.patchedAt);
    expect(db.prepare("SELECT count(*) AS n FROM items_patches").get()).toEqual({ n: 2 });
    expect(db.prepare(`SELECT count(*) AS n FROM "${CAPTURE_QUEUE_PREFIX}items"`).get()).toEqual({ n: 0 });
    // Nothing left: the token stays that of the newest write.
    expect(replica.flush()).toBe("1.2");
    replica.close();
  });

  it("INSERT OR REPLACE is a patch of the whole new row", () => {
    const { db, replica, sent } = open(1, { capture: true });
    replica.addPeer(2, (m) => sent.push(m));
    replica.upsert("items", { id: 5, name: "x", qty: 1 });
    patchesOf(sent);
    db.prepare("INSERT OR REPLACE INTO items (id, qty) VALUES (5, 2)").run();
    replica.flush();
    expect(patchesOf(sent).map((p) => p.values)).toEqual([{ id: 5, name: null, qty: 2, price: null, deletedAt: null }]);
    expect(rows(db)).toEqual([{ id: 5, name: null, qty: 2, price: null, deletedAt: null }]);
  });

  it("INSERT … ON CONFLICT DO UPDATE is a patch of the columns its DO UPDATE sets", () => {
    const { db, replica, sent } = open(1, { capture: true });
    replica.addPeer(2, (m) => sent.push(m));
    replica.upsert("items", { id: 5, name: "x", qty: 1 });
    patchesOf(sent);
    db.prepare("INSERT INTO items (id, name, qty) VALUES (5, 'y', 9) ON CONFLICT(id) DO UPDATE SET qty = excluded.qty").run();
    replica.flush();
    expect(patchesOf(sent).map((p) => p.values)).toEqual([{ id: 5, qty: 9 }]);
    expect(rows(db)).toEqual([{ id: 5, name: "x", qty: 9, price: null, deletedAt: null }]);
  });

  it("a rolled-back write, and a statement SQLite refuses, capture nothing", () => {
    const { db, replica } = open(1, { capture: true }, new Database(":memory:"), DDL.replace("qty INTEGER,", "qty INTEGER CHECK (qty >= 0),"));
    db.exec("BEGIN");
    db.prepare("INSERT INTO items (id, name) VALUES (1, 'gone')").run();
    db.exec("ROLLBACK");
    expect(() => db.prepare("INSERT INTO items (id, qty) VALUES (2, -1)").run()).toThrow(/CHECK/);
    // A multi-row statement failing on its second row keeps nothing of its first.
    expect(() => db.prepare("INSERT INTO items (id, qty) VALUES (3, 1), (4, -1)").run()).toThrow(/CHECK/);
    expect(replica.flush()).toBeNull();
    expect(db.prepare("SELECT count(*) AS n FROM items_patches").get()).toEqual({ n: 0 });
  });

  it("a multi-statement transaction is one group with one stamp", () => {
    const { db, replica, sent } = open(1, { capture: true });
    replica.addPeer(2, (m) => sent.push(m));
    db.transaction(() => {
      db.prepare("INSERT INTO items (id, name) VALUES (1, 'a')").run();
      db.prepare("INSERT INTO tags (tag, color) VALUES ('t', 'red')").run();
      db.prepare("UPDATE items SET qty = 2 WHERE id = 1").run();
    })();
    replica.flush();
    const groups: unknown[] = [];
    const ps = patchesOf(sent, groups);
    expect(ps).toHaveLength(2); // the row's INSERT and UPDATE fold into one patch
    expect(new Set(ps.map((p) => p.patchedAt)).size).toBe(1);
    expect(groups).toEqual([{ peerId: 1, first: 1, last: 2 }]);
    expect(ps.find((p) => p.table === "items")!.values).toEqual({ id: 1, name: "a", qty: 2, price: null, deletedAt: null });
  });

  it("plain SQL inside replica.transaction() joins its group, ordered before a later upsert of the same column", () => {
    const { db, replica, sent } = open(1, { capture: true });
    replica.addPeer(2, (m) => sent.push(m));
    replica.transaction(() => {
      db.prepare("INSERT INTO items (id, name) VALUES (1, 'sql')").run();
      replica.upsert("items", { id: 1, name: "upsert" });
      db.prepare("UPDATE items SET qty = 7 WHERE id = 1").run();
    });
    const ps = patchesOf(sent);
    expect(ps.map((p) => [p.seq, p.values])).toEqual([
      [1, { id: 1, name: "sql", qty: null, price: null, deletedAt: null }],
      [2, { id: 1, name: "upsert" }],
      [3, { id: 1, qty: 7 }],
    ]);
    expect(rows(db)).toEqual([{ id: 1, name: "upsert", qty: 7, price: null, deletedAt: null }]);
  });

  it("replic's own merges are not captured; another peer converges", () => {
    const a = open(1, { capture: true });
    const b = open(2, { capture: true });
    a.replica.addPeer(2, (m) => a.sent.push(m));
    b.replica.addPeer(1, (m) => b.sent.push(m));
    a.db.prepare("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)").run();
    b.db.prepare("INSERT INTO items (id, name, qty) VALUES (2, 'b', 2)").run();
    b.db.prepare("INSERT INTO tags (tag, color, n) VALUES ('x', 'red', 1.0)").run();
    settle(a.replica, b.replica, a.sent, b.sent);
    a.db.prepare("UPDATE items SET qty = 10 WHERE id = 2").run();
    settle(a.replica, b.replica, a.sent, b.sent);
    expect(rows(a.db)).toEqual(rows(b.db));
    expect(rows(a.db, "tags")).toEqual(rows(b.db, "tags"));
    expect(a.db.prepare("SELECT typeof(n) AS t FROM tags").get()).toEqual(b.db.prepare("SELECT typeof(n) AS t FROM tags").get());
    expect(rows(b.db)).toEqual([
      { id: 1, name: "a", qty: 1, price: null, deletedAt: null },
      { id: 2, name: "b", qty: 10, price: null, deletedAt: null },
    ]);
    // Each write is one patch of its origin: merges made no patch of the receiver.
    expect(a.replica.status().sequence).toBe(2);
    expect(b.replica.status().sequence).toBe(2);
  });

  it("upsert, upsertMany and transaction() write their rows uncaptured: no patch twice", () => {
    const { db, replica } = open(1, { capture: true });
    replica.upsert("items", { id: 1, name: "a" });
    replica.upsertMany("items", [{ id: 2 }, { id: 3 }]);
    replica.transaction(() => {
      replica.upsert("items", { id: 4 });
      replica.upsertMany("items", [{ id: 5 }, { id: 6 }]);
    });
    expect(replica.status().sequence).toBe(6);
    expect(replica.flush()).toBe("1.6");
    replica.tick();
    expect(replica.status().sequence).toBe(6);
    expect(db.prepare("SELECT count(*) AS n FROM items_patches").get()).toEqual({ n: 6 });
  });

  it("a captured write racing a received patch ends as the merge rule says", () => {
    let wall = 1_800_000_000_000;
    const now = () => wall;
    const a = open(1, { capture: true, now });
    const b = open(2, { now });
    a.replica.addPeer(2, (m) => a.sent.push(m));
    b.replica.addPeer(1, (m) => b.sent.push(m));
    b.replica.upsert("items", { id: 1, name: "base", qty: 0 });
    settle(a.replica, b.replica, a.sent, b.sent);
    // a writes by SQL; b writes later by its clock, but a receives it before draining.
    a.db.prepare("UPDATE items SET name = 'sql', qty = 5 WHERE id = 1").run();
    wall += 10;
    b.replica.upsert("items", { id: 1, name: "remote" });
    for (const m of b.sent.splice(0)) a.replica.receive(2, m);
    settle(a.replica, b.replica, a.sent, b.sent);
    expect(rows(a.db)).toEqual(rows(b.db));
    // The captured write was stamped when a drained it, before merging b's: b's is newer.
    expect(rows(a.db)).toEqual([{ id: 1, name: "remote", qty: 5, price: null, deletedAt: null }]);
  });

  it("DELETE and a key change on a captured table fail with a message naming soft delete; nothing is captured", () => {
    const { db, replica } = open(1, { capture: ["items"] });
    db.prepare("INSERT INTO items (id, name) VALUES (1, 'a')").run();
    replica.flush();
    expect(() => db.prepare("DELETE FROM items WHERE id = 1").run()).toThrow(/soft delete/);
    expect(() => db.prepare("UPDATE items SET id = 2 WHERE id = 1").run()).toThrow(/primary key/);
    db.prepare("UPDATE items SET id = 1 WHERE id = 1").run(); // the same key is no change
    // Uncaptured tables are untouched by capture: tags is not in the list.
    db.prepare("INSERT INTO tags (tag) VALUES ('z')").run();
    db.prepare("DELETE FROM tags").run();
    expect(replica.flush()).toBe("1.1");
    expect(rows(db)).toEqual([{ id: 1, name: "a", qty: null, price: null, deletedAt: null }]);
  });

  it("writes through another connection are not captured", () => {
    const dir = mkdtempSync(join(tmpdir(), "replic-capture-"));
    dirs.push(dir);
    const file = join(dir, "db.sqlite");
    const { db, replica } = open(1, { capture: true }, new Database(file));
    const other = new Database(file);
    other.prepare("INSERT INTO items (id, name) VALUES (9, 'other')").run();
    other.prepare("DELETE FROM items WHERE id = 9").run();
    db.prepare("INSERT INTO items (id, name) VALUES (1, 'mine')").run();
    expect(replica.flush()).toBe("1.1");
    expect(db.prepare("SELECT count(*) AS n FROM items_patches").get()).toEqual({ n: 1 });
    other.close();
    replica.close();
    db.close();
  });

  it("committed captures left by a closed replica drain exactly once when the database is opened again", () => {
    const dir = mkdtempSync(join(tmpdir(), "replic-capture-"));
    dirs.push(dir);
    const file = join(dir, "db.sqlite");
    const first = open(1, { capture: true }, new Database(file));
    first.db.prepare("INSERT INTO items (id, name) VALUES (1, 'a')").run();
    first.replica.flush();
    first.db.prepare("INSERT INTO items (id, name) VALUES (2, 'b')").run();
    first.replica.close();
    first.db.close();
    // Opened again without capture: the queue still drains, once.
    const again = open(1, {}, new Database(file), "");
    expect(again.replica.status().sequence).toBe(2);
    expect(again.db.prepare("SELECT id, _sequenceId AS seq FROM items_patches ORDER BY seq").all()).toEqual([
      { id: 1, seq: 1 },
      { id: 2, seq: 2 },
    ]);
    // Not captured now: no trigger on this connection.
    again.db.prepare("INSERT INTO items (id, name) VALUES (3, 'c')").run();
    expect(again.replica.flush()).toBe("1.2");
    again.replica.close();
    again.db.close();
  });

  it("tick drains; a transaction the application holds open defers it to the next tick", () => {
    const { db, replica } = open(1, { capture: true });
    db.prepare("INSERT INTO items (id) VALUES (1)").run();
    replica.tick();
    expect(replica.status().sequence).toBe(1);
    db.exec("BEGIN");
    db.prepare("INSERT INTO items (id) VALUES (2)").run();
    replica.tick();
    expect(replica.status().sequence).toBe(1);
    db.exec("COMMIT");
    replica.tick();
    expect(replica.status().sequence).toBe(2);
  });

  it("waitFor on a peer resolves with the token flush() returns", async () => {
    const a = open(1, { capture: true });
    const b = open(2);
    a.replica.addPeer(2, (m) => b.replica.receive(1, m));
    a.db.prepare("INSERT INTO items (id, name) VALUES (1, 'a')").run();
    const token = a.replica.flush()!;
    await b.replica.waitFor(token, 1000);
    expect(rows(b.db)).toEqual([{ id: 1, name: "a", qty: null, price: null, deletedAt: null }]);
  });

  it("migrate drains first and captures the new columns after", () => {
    const { db, replica, sent } = open(1, { capture: ["notes"] }, new Database(":memory:"), "");
    replica.addPeer(2, (m) => sent.push(m));
    const m1 = {
      up: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE notes_patches (id INTEGER, body TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`,
      down: "DROP TABLE notes_patches; DROP TABLE notes;",
    };
    const m2 = { up: "ALTER TABLE notes ADD COLUMN pinned INTEGER; ALTER TABLE notes_patches ADD COLUMN pinned INTEGER;", down: "" };
    replica.migrate([m1]);
    db.prepare("INSERT INTO notes (id, body) VALUES (1, 'x')").run();
    replica.migrate([m1, m2]);
    db.prepare("UPDATE notes SET pinned = 1 WHERE id = 1").run();
    replica.flush();
    expect(patchesOf(sent).map((p) => p.values)).toEqual([{ id: 1, body: "x" }, { id: 1, pinned: 1 }]);
  });

  it("a backlog beyond the group limit drains as several groups, none above the limit", () => {
    const { db, replica, sent } = open(1, { capture: ["items"], limits: { maxGroupPatches: 3 } });
    replica.addPeer(2, (m) => sent.push(m));
    db.transaction(() => {
      for (let id = 1; id <= 7; id++) db.prepare("INSERT INTO items (id) VALUES (?)").run(id);
    })();
    expect(replica.flush()).toBe("1.7");
    const groups: { first: number; last: number }[] = [];
    expect(patchesOf(sent, groups).map((p) => p.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(groups.map((g) => [g.first, g.last])).toEqual([
      [1, 3],
      [4, 6],
    ]);
  });

  it("flush() inside transaction() is refused; composite keys and blobs are captured exactly", () => {
    const ddl = `CREATE TABLE pairs (a TEXT, b INTEGER, data BLOB, PRIMARY KEY (a, b));
CREATE TABLE pairs_patches (a TEXT, b INTEGER, data BLOB, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
    const { db, replica, sent } = open(1, { capture: true }, new Database(":memory:"), ddl);
    replica.addPeer(2, (m) => sent.push(m));
    expect(() => replica.transaction(() => replica.flush())).toThrow(/flush\(\) cannot run inside transaction\(\)/);
    db.prepare("INSERT INTO pairs (a, b, data) VALUES ('x', 1, ?), ('x', 2, NULL)").run(Buffer.from([0, 1, 2]));
    db.prepare("UPDATE pairs SET data = x'ff' WHERE b = 2").run();
    replica.flush();
    const ps = patchesOf(sent);
    expect(ps.map((p) => [p.values.a, p.values.b, Array.from(p.values.data as Uint8Array)])).toEqual([
      ["x", 1, [0, 1, 2]],
      ["x", 2, [255]],
    ]);
  });

  it("refuses a capture option that is neither true nor a list of names", () => {
    for (const capture of [false, "items", [1], [""]]) {
      try {
        open(1, { capture: capture as never });
        expect.unreachable();
      } catch (err) {
        expect(isReplicError(err) && err.code).toBe("INVALID_OPTION");
      }
    }
  });
});
