/**
 * The drain of captured writes (src/local-writes.ts): a captured value is written back to `T`
 * where the table keeps values as given (an untyped or BLOB column), so the writer reads what
 * receivers store; a captured patch that is not the newest of its row recomputes the row by the
 * merge rule; the merge event names the drained rows.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createReplica, type MergeEvent, type ReplicaOptions } from "../../src/index.js";
import { timestampFromMs } from "../../src/clock.js";
import { testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

const WALL = 1_800_000_000_000;
const EXTRA_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT, n ANY);
CREATE TABLE tags_patches (tag TEXT, color TEXT, n ANY, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);
CREATE TABLE blobs (k TEXT PRIMARY KEY, b BLOB);
CREATE TABLE blobs_patches (k TEXT, b BLOB, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;

function open(db: Database.Database, options: ReplicaOptions = {}) {
  return createReplica(testDriver(db), { peerId: 1, heartbeatMs: 0, now: () => WALL, capture: true, ...options });
}

function fresh(): Database.Database {
  const db = new Database(":memory:");
  db.exec(`${itemsDdl(false)}\n${EXTRA_DDL}`);
  return db;
}

/** A writer whose messages are kept, and a function giving a fresh receiver's rows of `sql` after all of them. */
function linked(db: Database.Database) {
  const out: Uint8Array[] = [];
  const a = open(db);
  a.addPeer(2, (m) => out.push(m));
  const received = (sql: string): unknown[] => {
    const other = fresh();
    const b = createReplica(testDriver(other), { peerId: 2, heartbeatMs: 0, now: () => WALL });
    for (const m of out) b.receive(1, m);
    b.close();
    return other.prepare(sql).raw().all();
  };
  return { a, received };
}

describe("captured writes: the drain", () => {
  it("an integral REAL in an untyped column reads back on the writer as receivers store it", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare("INSERT INTO tags (tag, color, n) VALUES ('t', 'red', 2.0)").run();
    a.flush();
    a.close();
    const sql = "SELECT tag, typeof(n), n FROM tags";
    expect(db.prepare(sql).raw().all()).toEqual([["t", "integer", 2]]);
    expect(received(sql)).toEqual([["t", "integer", 2]]);
  });

  it("so does one in a BLOB column; a table with neither keeps the row plain SQL wrote", () => {
    const db = fresh();
    const { a, received } = linked(db);
    db.prepare("INSERT INTO blobs (k, b) VALUES ('k', 3.0)").run();
    db.prepare("INSERT INTO items (id, name, price) VALUES (1, 'x', 2.0)").run();
    a.flush();
    a.close();
    expect(db.prepare("SELECT k, typeof(b), b FROM blobs").raw().all()).toEqual([["k", "integer", 3]]);
    // REAL affinity: SQLite stores 2.0 as a REAL on every replica, written back or not.
    expect(db.prepare("SELECT id, typeof(price) FROM items").raw().all()).toEqual([[1, "real"]]);
    expect(received("SELECT k, typeof(b), b FROM blobs")).toEqual([["k", "integer", 3]]);
  });

  it("a captured patch older than what was merged for its row loses the columns both set", () => {
    // A patch of peer 3 merged earlier, stamped ahead of this replica's clock (written through a
    // connection that captures nothing).
    const dir = mkdtempSync(join(tmpdir(), "replic-drain-"));
    const file = join(dir, "db.sqlite");
    const first = new Database(file);
    first.exec(`${itemsDdl(false)}\n${EXTRA_DDL}`);
    open(first).close();
    first.close();
    const ahead = timestampFromMs(WALL + 10_000);
    const plain = new Database(file);
    plain.exec(`INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (1, 'remote', ${ahead}, 1, 3)`);
    plain.exec(`INSERT INTO items (id, name) VALUES (1, 'remote')`);
    plain.exec(`UPDATE _replic_state SET highestTs = ${ahead}`);
    plain.close();
    const db = new Database(file);
    const a = open(db);
    const merges: MergeEvent[] = [];
    a.on("merge", (e) => merges.push(e));
    db.prepare("UPDATE items SET name = 'local', qty = 4 WHERE id = 1").run();
    expect(a.flush()).toBe("1.1");
    expect(db.prepare("SELECT id, name, qty FROM items").raw().all()).toEqual([[1, "remote", 4]]);
    expect(db.prepare("SELECT _sequenceId, _patchedAt < ? FROM items_patches WHERE _peerId = 1").raw().all(ahead)).toEqual([[1, 1]]);
    expect(merges.map((e) => [e.local, e.tables, e.keys])).toEqual([[true, ["items"], { items: [[1]] }]]);
    a.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the merge event of a drain names every drained row once per table", () => {
    const db = fresh();
    const a = open(db);
    const merges: MergeEvent[] = [];
    a.on("merge", (e) => merges.push(e));
    db.transaction(() => {
      db.prepare("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')").run();
      db.prepare("INSERT INTO tags (tag) VALUES ('t')").run();
    })();
    a.flush();
    expect(merges.map((e) => [e.local, e.patches, [...e.tables].sort(), e.keys])).toEqual([[true, 3, ["items", "tags"], { items: [[1], [2]], tags: [["t"]] }]]);
    a.close();
  });
});
