// The adapter's basics under Deno 2 (`deno test`, started by test/deno.test.ts with narrow
// permissions): the built package and node-sqlite3-wasm from node_modules, a data directory
// passed after `--`. Replication between two replicas, values round-trip like on Node, a file
// reopened keeps its peer id and rows, and the owner record is held, locked and given back.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseLockedError, isReplicError, openDatabase, openReplica, patchesDdl } from "../../dist/index.js";

const dir = Deno.args[0];
const ddl = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, big INTEGER, data BLOB, deletedAt INTEGER);";
const scratch = openDatabase(":memory:");
scratch.exec(ddl);
const migrations = [{ up: ddl + patchesDdl(scratch, "notes"), down: "DROP TABLE notes_patches; DROP TABLE notes;" }];
scratch.close();

function open(file, options = {}) {
  const db = openDatabase(file);
  const replica = openReplica(db, { heartbeatMs: 0, ...options });
  replica.migrate(migrations);
  return { db, replica };
}

Deno.test("two replicas converge, whatever the order of their messages", () => {
  const a = open(":memory:");
  const b = open(":memory:");
  const inbox = [];
  a.replica.addPeer(b.replica.peerId, (m) => inbox.push(["b", a.replica.peerId, m]));
  b.replica.addPeer(a.replica.peerId, (m) => inbox.push(["a", b.replica.peerId, m]));
  a.replica.upsert("notes", { id: 1, body: "from a" });
  b.replica.upsert("notes", { id: 1, big: 7 });
  b.replica.upsertMany("notes", [{ id: 2, body: "two" }, { id: 3, body: "three" }]);
  a.replica.upsert("notes", { id: 3, deletedAt: 5 });
  for (const [to, from, m] of inbox.splice(0).reverse()) (to === "a" ? a : b).replica.receive(from, m);
  for (let i = 0; i < 3; i++) {
    a.replica.tick();
    b.replica.tick();
    for (const [to, from, m] of inbox.splice(0)) (to === "a" ? a : b).replica.receive(from, m);
  }
  const rows = (p) => JSON.stringify(p.db.all("SELECT id, body, big, deletedAt FROM notes ORDER BY id"));
  assert.equal(rows(a), rows(b));
  assert.deepEqual(a.db.get("SELECT body, big FROM notes WHERE id = 1"), { body: "from a", big: 7 });
  for (const p of [a, b]) {
    p.replica.close();
    p.db.close();
  }
});

Deno.test("values round-trip as on Node: int64 beyond 2^53, blobs, unpaired surrogates", () => {
  const a = open(":memory:");
  a.replica.upsert("notes", { id: 1, big: 2n ** 62n, data: new Uint8Array([0, 1, 255]), body: "x\uD800y" });
  const row = a.db.get("SELECT big, data, body FROM notes WHERE id = 1");
  assert.equal(row.big, 2n ** 62n);
  assert.deepEqual([...row.data], [0, 1, 255]);
  assert.equal(row.body, "x\uFFFDy");
  assert.throws(() => a.replica.upsert("notes", { id: 2, big: 2n ** 64n }), (e) => isReplicError(e) && e.code === "TYPE_MISMATCH");
  assert.throws(() => a.replica.upsert("notes", { id: 2, body: "a\u0000b" }), (e) => isReplicError(e) && e.code === "TYPE_MISMATCH");
  a.replica.close();
  a.db.close();
});

Deno.test("a file keeps its peer id and rows; its owner record is held while open and given back", () => {
  const file = join(dir, "basics.db");
  const first = open(file);
  const peer = first.replica.peerId;
  const token = first.replica.upsert("notes", { id: 1, body: "kept" });
  assert.ok(existsSync(`${file}.replic-owner`));
  // Held by this process: a second handle shares it.
  const again = openDatabase(file);
  again.close();
  assert.ok(existsSync(`${file}.replic-owner`));
  first.replica.close();
  first.db.close();
  assert.ok(!existsSync(`${file}.replic-owner`));
  const second = open(file);
  assert.equal(second.replica.peerId, peer);
  assert.equal(second.replica.upsert("notes", { id: 2 }), `${peer}.${Number(token.split(".")[1]) + 1}`);
  assert.deepEqual(second.db.all("SELECT id, body FROM notes ORDER BY id"), [{ id: 1, body: "kept" }, { id: 2, body: null }]);
  second.replica.close();
  second.db.close();
});

Deno.test("a record whose owner cannot be judged from here is refused, typed", () => {
  const file = join(dir, "foreign.db");
  Deno.writeTextFileSync(`${file}.replic-owner`, JSON.stringify({ pid: 1, start: null, boot: null, pidns: null, host: "elsewhere", lock: null, nonce: "x" }));
  assert.throws(() => openDatabase(file), (e) => e instanceof DatabaseLockedError && e.code === "DATABASE_LOCKED" && e.pid === 1 && e.host === "elsewhere");
  assert.ok(!existsSync(file));
});
