// Prelude "s3-snapshot" (Node): a snapshot of a peer holding one todo is uploaded to
// s3://bucket/replic (the test's S3 server, through the AWS_* environment it sets), and
// `Database`, `openReplica` and `options` are in scope. The block is inserted at the marker; the
// lines after it check that it restored that todo into app.db and opened a replica on it.
import Database from "better-sqlite3";
import { createDriver, openReplica, patchesDdl } from "@replic/adapter-node";
import { snapshotToS3 } from "@replic/snapshot-s3";

const options = { heartbeatMs: 0 };
{
  const source = new Database("source.db");
  source.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT);");
  source.exec(patchesDdl(source, "todos"));
  const peer = openReplica(source, options);
  peer.upsert("todos", { id: "t1", title: "buy milk" });
  await snapshotToS3(createDriver(source), { to: "s3://bucket/replic" });
  peer.close();
  source.close();
}

// @block

const restored = new Database("app.db", { readonly: true }).prepare("SELECT title FROM todos").all();
if (JSON.stringify(restored) !== JSON.stringify([{ title: "buy milk" }])) throw new Error(`restored ${JSON.stringify(restored)}`);
console.log(`restored and opened as peer ${replica.peerId}`);
replica.close();
