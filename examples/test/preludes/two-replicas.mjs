// Prelude "two-replicas" (Node): `replica` and `other`, two in-memory replicas with the README's
// todos table. The README block is inserted at the marker; the lines after it prove that the
// links it opened carry a write (WebSocket to `other`, NATS to a third member) and close them.
import Database from "better-sqlite3";
import { openReplica, patchesDdl } from "@replic/adapter-node";
import { joinNats as joinNatsToo } from "@replic/transport-nats";

function open() {
  const todos = "CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER, deletedAt INTEGER);";
  const db = new Database(":memory:");
  db.exec(todos);
  db.exec(patchesDdl(db, "todos"));
  return openReplica(db, { heartbeatMs: 100 });
}
const replica = open();
const other = open();

// @block

const token = replica.upsert("todos", { id: "t1", title: "buy milk" });
await other.waitFor(token, 10_000);
console.log("over WebSocket:", token);
const third = open();
const member = await joinNatsToo(third, { servers: "nats://127.0.0.1:4222", cluster: "todo-app" });
await third.waitFor(token, 10_000);
console.log("over NATS:", token);
await member.close();
await nats.close();
await link.close();
await server.close();
for (const r of [replica, other, third]) r.close();
