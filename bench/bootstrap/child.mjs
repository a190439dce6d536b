// One newcomer replica in its own process (so its peak RSS is its own). Mode "snapshot":
// bootstrapFromSnapshot, then catch up by patches; mode "patches": catch up everything by
// patches. Linked to the source peer in the parent over IPC. Reports timings and peak RSS.
// argv: <mode> <dbPath> <sourcePeerId> <targetSeq>; env BOOTSTRAP_S3 = JSON { from, endpoint, credentials }.
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { bootstrapFromSnapshot } from "../../packages/snapshot-s3/dist/index.js";
import { MIGRATIONS } from "./schema.mjs";

const [mode, path, sourceArg, targetArg] = process.argv.slice(2);
const source = Number(sourceArg);
const target = Number(targetArg);
const t0 = performance.now();
let restoreMs = 0;
let snapshotBytes = 0;
if (mode === "snapshot") {
  const r = await bootstrapFromSnapshot(path, JSON.parse(process.env.BOOTSTRAP_S3));
  if (!r.restored) throw new Error("bootstrap did not restore");
  restoreMs = performance.now() - t0;
  snapshotBytes = r.bytes;
}
const db = new Database(path);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const replica = openReplica(db, { heartbeatMs: 50 });
replica.migrate(MIGRATIONS); // a no-op on the restored database
replica.addPeer(source, (bytes) => process.send({ type: "msg", from: replica.peerId, bytes }));
process.send({ type: "hello", peerId: replica.peerId });
let finished = false;
process.on("message", (m) => {
  if (m.type === "msg" && !finished) replica.receive(source, m.bytes);
});
const startSeq = replica.status().origins.find((o) => o.peerId === source)?.contiguous ?? 0;
replica.tick();
const timer = setInterval(() => {
  const o = replica.status().origins.find((x) => x.peerId === source);
  if (o && o.contiguous >= target) {
    clearInterval(timer);
    finished = true;
    const totalMs = performance.now() - t0;
    const rows = db.prepare("SELECT count(*) FROM items").pluck().get();
    replica.close();
    db.close();
    process.send({
      type: "done",
      result: { mode, peerId: replica.peerId, totalMs, restoreMs, catchUpMs: totalMs - restoreMs, patchesCaughtUp: target - startSeq, rows, snapshotBytes, peakRssMiB: process.resourceUsage().maxRSS / 1024 },
    });
    setTimeout(() => process.exit(0), 50);
  }
}, 20);
