// One fresh process of the open workload (node or bun, like its parent), of one kind:
//   replic   times opening a replica on the prepared file database: the binding's open (new
//            Database + the bench's pragmas) plus openReplica, first in this cold process, then
//            `warm` more times (close both, open again);
//   raw      the same opens without replic: the binding's open plus a first read of the schema
//            (the floor of any open of that file on that binding);
//   bound    the same opens replaying the statements an open of replic runs (recorded by an
//            `explain` process, read from `log`) through the binding's own API: the open's
//            SQL-only bound, cold and warm;
//   explain  opens once through a recording driver and reports every statement the open ran,
//            its time and its query plan (EXPLAIN QUERY PLAN), so a scan shows; writes the
//            recorded calls to `log`.
import { readFileSync, writeFileSync } from "node:fs";
import { loadBinding, openDb } from "../lib/bindings.mjs";
import { adapterFor } from "../lib/replic.mjs";
import { recordingDriver } from "../lib/sql-recorder.mjs";
import { prepareReplay, replayPlan } from "../lib/sql-replay.mjs";
import { emit, now, runtime } from "../lib/proc.mjs";

const cfg = JSON.parse(process.argv[2]);
const PEER = cfg.peerId;

try {
  let t0 = now();
  await loadBinding(cfg.binding);
  const adapter = await adapterFor(cfg.binding);
  const importMs = now() - t0;

  if (cfg.kind === "explain") {
    const db = await openDb(cfg.binding, null, "open", { path: cfg.path });
    const rec = recordingDriver(adapter.createDriver(db.native), { keepParams: true });
    rec.start();
    const replica = adapter.createReplica(rec.driver, { peerId: PEER, heartbeatMs: 0 });
    rec.stop();
    const opened = rec.statements().map((s) => ({ ...s })); // the open's, not the close's
    replica.close();
    const plan = adapter.createDriver(db.native);
    const statements = opened.map((s) => ({ ...s, plan: explain(plan, s) }));
    db.close({ keep: true });
    writeFileSync(cfg.log, JSON.stringify(rec.log));
    emit({ ok: true, runtime, statements });
    process.exit(0);
  }

  const plan = cfg.kind === "bound" ? replayPlan(cfg.binding, JSON.parse(readFileSync(cfg.log, "utf8"))) : null;
  const openOnce = async () => {
    const c = process.cpuUsage();
    const t = now();
    const db = await openDb(cfg.binding, null, "open", { path: cfg.path });
    let replica;
    if (cfg.kind === "raw") replica = rawOpen(db);
    else if (cfg.kind === "bound") replica = boundOpen(db, plan);
    else replica = adapter.openReplica(db.native, { peerId: PEER, heartbeatMs: 0 });
    const ms = now() - t;
    const cpu = process.cpuUsage(c);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, db, replica };
  };
  const closeBoth = ({ db, replica }) => {
    replica.close();
    db.close({ keep: true });
  };

  const first = await openOnce();
  const heads = cfg.kind === "replic" ? first.replica.status().origins?.length ?? null : null;
  closeBoth(first);
  const warmMs = [];
  const warmCpuMs = [];
  for (let i = 0; i < cfg.warm; i++) {
    const o = await openOnce();
    warmMs.push(o.ms);
    warmCpuMs.push(o.cpuMs);
    closeBoth(o);
  }
  emit({ ok: true, runtime, importMs, coldMs: first.ms, coldCpuMs: first.cpuMs, warmMs, warmCpuMs, heads });
  process.exit(0);
} catch (e) {
  emit({ ok: false, runtime, error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
}

/** The open's recorded statements, prepared and run through the binding's own API. */
function boundOpen(db, plan) {
  const replay = prepareReplay(db, plan);
  replay.run();
  return { close: () => replay.finalize() };
}

/** The raw open: the first statement reads the schema; nothing to close but the database. */
function rawOpen(db) {
  db.get("SELECT count(*) FROM sqlite_schema");
  return { close() {} };
}

/** EXPLAIN QUERY PLAN of a recorded statement with its first parameters ("" for DDL/pragmas). */
function explain(driver, s) {
  if (!/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)/i.test(s.sql)) return "";
  try {
    return driver
      .prepare(`EXPLAIN QUERY PLAN ${s.sql}`)
      .all(s.firstParams ?? [])
      .map((r) => String(r[r.length - 1]))
      .join("; ");
  } catch (e) {
    return `(no plan: ${String(e.message ?? e).slice(0, 80)})`;
  }
}
