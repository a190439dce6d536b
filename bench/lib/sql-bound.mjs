// A "bound" variant for lib/measure.mjs: the SQL-only bound of one replic path on one binding.
// The first call records the path's statements once (untimed: a replic run through a recording
// driver on its own fresh database), then every call replays them on a fresh database and
// returns rows/s, like the raw and replic variants next to it.
import { openDb } from "./bindings.mjs";
import { openRecordedReplicaOn, openReplicaOn } from "./replic.mjs";
import { prepareReplay, replayPlan } from "./sql-replay.mjs";

/**
 * boundVariant({ binding, tmpDir, adapter, peerId, rows, drive, check }) → async () => rows/s
 *   drive(replica)   the path, exactly as the replic variant runs it
 *   check(dbh)       throws unless the replayed database holds what replic's would
 * The recorded plan is kept in `info` ({ statements, calls }) for the notes.
 */
const COUNTS = "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM items_patches)";

export function boundVariant({ binding, tmpDir, adapter, peerId, rows, drive, check, info = {} }) {
  let plan = null;
  let writer = 0;
  let counts = "";
  const record = async () => {
    const db = await openDb(binding, tmpDir, "record");
    const { replica, rec } = openRecordedReplicaOn(adapter, db, peerId);
    rec.start();
    drive(replica);
    rec.stop();
    replica.close();
    // The writer token the recorded statements carry (the UPDATEs of _replic_state match it).
    writer = db.get("SELECT writer FROM _replic_state WHERE id = 1")[0];
    counts = String(db.get(COUNTS));
    db.close();
    plan = replayPlan(binding, rec.log);
    info.calls = plan.length;
    info.statements = new Set(plan.map((e) => e.sql)).size;
  };
  return async () => {
    if (!plan) await record();
    const db = await openDb(binding, tmpDir, "bound");
    // The same schema replic wrote into: the table, its patch table and replic's own tables.
    openReplicaOn(adapter, db, peerId).close();
    db.exec(`UPDATE _replic_state SET writer = ${writer} WHERE id = 1`);
    const replay = prepareReplay(db, plan);
    const ms = replay.run();
    replay.finalize();
    check(db);
    const got = String(db.get(COUNTS));
    if (got !== counts) throw new Error(`replay left (rows, patches) = (${got}), replic (${counts})`);
    db.close();
    return rows / (ms / 1000);
  };
}
