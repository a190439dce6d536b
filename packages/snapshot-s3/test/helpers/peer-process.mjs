// A replica in its own process, linked to the test process over IPC (advanced serialization
// carries the message bytes). Optionally bootstraps its database from S3 first.
// argv: <dbPath>; env PEER_CONFIG = JSON { from?, endpoint?, credentials?, peers?: number[] }.
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { bootstrapFromSnapshot } from "../../dist/index.js";
import { MIGRATIONS } from "./schema.mjs";

const path = process.argv[2];
const config = JSON.parse(process.env.PEER_CONFIG ?? "{}");
let restored;
if (config.from) {
  restored = await bootstrapFromSnapshot(path, { from: config.from, endpoint: config.endpoint, credentials: config.credentials });
}
const db = new Database(path);
db.pragma("journal_mode = WAL");
const replica = openReplica(db, { heartbeatMs: 50 });
replica.migrate(MIGRATIONS);

const addPeer = (id) => replica.addPeer(id, (bytes) => process.send({ type: "msg", to: id, bytes }));
for (const id of config.peers ?? []) addPeer(id);

let writing;
let written = 0;
process.on("message", (m) => {
  if (m.type === "msg") replica.receive(m.from, m.bytes);
  else if (m.type === "addPeer") {
    addPeer(m.peerId);
    replica.tick();
  } else if (m.type === "startWriting") {
    writing = setInterval(() => {
      replica.transaction(() => {
        for (let i = 0; i < 20; i++, written++) replica.upsert("items", { id: `w${written % 700}`, title: `v${written}`, n: written });
      });
      process.send({ type: "written", count: written });
    }, 5);
  } else if (m.type === "stopWriting") {
    clearInterval(writing);
    process.send({ type: "stopped", count: written });
  } else if (m.type === "dump") {
    process.send({ type: "dump", rows: db.prepare("SELECT id, title, n FROM items ORDER BY id").all() });
  } else if (m.type === "exit") {
    clearInterval(writing);
    replica.close();
    db.close();
    process.exit(0);
  }
});
process.send({ type: "ready", peerId: replica.peerId, restored: restored ? { restored: restored.restored, peerId: restored.peerId, from: restored.manifest?.peerId } : undefined });
