// Prelude "bun-metrics" (Bun): `replica` (bun:sqlite, in memory, the todos table, one write) and
// `snapshotMetrics` (@replic/snapshot-s3). The block is inserted at the marker; the lines after
// it scrape both endpoints the block opened (its ports 9464 and 9465, pointed at free ones).
import { Database } from "bun:sqlite";
import { openReplica, patchesDdl } from "@replic/adapter-bun";
import { SnapshotMetrics } from "@replic/snapshot-s3";

const db = new Database(":memory:");
db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER, deletedAt INTEGER);");
db.exec(patchesDdl(db, "todos"));
const replica = openReplica(db, { heartbeatMs: 0 });
const snapshotMetrics = new SnapshotMetrics();
replica.upsert("todos", { id: "t1", title: "buy milk" });

// @block

for (const port of [9464, 9465]) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  if (!/^replic_patches_local_total(\{\})? 1$/m.test(text)) throw new Error(`no replica metrics on port ${port}:\n${text}`);
  console.log(`scraped ${port}: ${text.split("\n").length} lines`);
}
await server.close();
replica.close();
process.exit(0); // the block's Bun.serve is not kept in a variable to stop
