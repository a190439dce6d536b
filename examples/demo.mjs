// The README's demo: four peers in one process, each with its own SQLite file (better-sqlite3),
// writing concurrently to the same table over a lossy, reordering in-memory network, wired as
// a hub with spokes plus one extra link. Anti-entropy heals what the network drops; at the end
// every peer holds the same rows.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openReplica, patchesDdl } from "@replic/adapter-node";

const dir = mkdtempSync(join(tmpdir(), "replic-demo-"));
const names = ["ada", "bob", "cy", "dee"];
const LOSS = 0.2;

const todosDdl = `CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER NOT NULL DEFAULT 0, owner TEXT, deletedAt INTEGER);`;
// The DDL helper writes the sibling patches table (and its indexes) for us.
const scratch = new Database(":memory:");
scratch.exec(todosDdl);
const migrations = [{ up: todosDdl + "\n" + patchesDdl(scratch, "todos"), down: "DROP TABLE todos_patches; DROP TABLE todos;" }];
scratch.close();

const peers = names.map((name, i) => {
  const db = new Database(join(dir, `${name}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const replica = openReplica(db, { peerId: 1000 + i, heartbeatMs: 100 });
  replica.migrate(migrations);
  return { name, db, replica };
});

// Hub (ada) with spokes, plus a direct bob–cy link: relays carry everything else.
const links = [[0, 1], [0, 2], [0, 3], [1, 2]];
let dropped = 0;
let finished = false;
let delivered = 0;
for (const [a, b] of links) {
  for (const [from, to] of [[a, b], [b, a]]) {
    peers[from].replica.addPeer(peers[to].replica.peerId, (bytes) => {
      if (Math.random() < LOSS) return void dropped++;
      setTimeout(() => {
        if (finished) return;
        delivered++;
        peers[to].replica.receive(peers[from].replica.peerId, bytes);
      }, 1 + Math.random() * 30);
    });
  }
}

console.log(`replic demo: ${peers.length} peers, files in ${dir}, ${LOSS * 100}% message loss`);
const tasks = ["buy milk", "fix bike", "call mum", "water plants", "book flights", "pay rent"];
let writes = 0;
const writers = peers.map((p, i) =>
  setInterval(() => {
    const id = `t${Math.floor(Math.random() * tasks.length)}`;
    const r = Math.random();
    if (r < 0.5) p.replica.upsert("todos", { id, title: tasks[Number(id.slice(1))], owner: p.name });
    else if (r < 0.8) p.replica.upsert("todos", { id, done: Math.random() < 0.5 ? 1 : 0 });
    else if (r < 0.9) p.replica.upsert("todos", { id, deletedAt: Date.now() });
    else p.replica.upsert("todos", { id, deletedAt: null }); // restore
    writes++;
  }, 7 + i * 3),
);

setTimeout(() => {
  for (const w of writers) clearInterval(w);
  console.log(`${writes} concurrent writes done; letting heartbeats repair what was lost...`);
  const started = Date.now();
  const dump = (p) => JSON.stringify(p.db.prepare("SELECT * FROM todos ORDER BY id").all());
  const check = setInterval(() => {
    // Converged = every peer holds every patch of every origin, and the same rows.
    const heads = (p) => JSON.stringify(peers.map((q) => p.replica.status().origins.find((o) => o.peerId === q.replica.peerId)?.contiguous ?? 0));
    const same = peers.every((p) => dump(p) === dump(peers[0]) && heads(p) === heads(peers[0]));
    if (!same && Date.now() - started < 15_000) return;
    clearInterval(check);
    finished = true;
    console.log(`converged: ${same ? "yes" : "NO"} (${Date.now() - started} ms after the last write; ${delivered} messages delivered, ${dropped} dropped)`);
    for (const p of peers) {
      const s = p.replica.status();
      const held = peers.map((q) => `${q.name} 1..${s.origins.find((o) => o.peerId === q.replica.peerId)?.contiguous ?? 0}`);
      console.log(`  ${p.name.padEnd(4)} (peer ${s.peerId}): ${p.db.prepare("SELECT count(*) FROM todos").pluck().get()} rows; holds patches ${held.join(", ")}`);
    }
    console.log("what every peer holds:");
    console.table(peers[0].db.prepare("SELECT id, title, done, owner, deletedAt IS NOT NULL AS deleted FROM todos ORDER BY id").all());
    for (const p of peers) {
      p.replica.close();
      p.db.close();
    }
    rmSync(dir, { recursive: true, force: true });
    process.exitCode = same ? 0 : 1;
  }, 100);
}, 2000);
