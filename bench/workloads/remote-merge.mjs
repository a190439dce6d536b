// Workload 2 — remote merge.
// N patches written by another peer arrive as wire messages (`batch` patches each) and are merged
// with replica.receive(). The raw baseline upserts the same rows with a prepared
// INSERT ... ON CONFLICT DO UPDATE in transactions of the same size, on the same binding.
// The SQL-only bound (lib/sql-bound.mjs) replays replic's own statements of the same merge
// without replic; measured up to `boundUpTo` patches (the recorded log is held in memory).
import { ITEMS_DDL, rows } from "../lib/data.mjs";
import { openDb } from "../lib/bindings.mjs";
import { adapterFor, core, openReplicaOn } from "../lib/replic.mjs";
import { singleOriginHistory } from "../lib/history.mjs";
import { interleave } from "../lib/measure.mjs";
import { boundVariant } from "../lib/sql-bound.mjs";
import { now } from "../lib/proc.mjs";

export const ORIGIN = 0x2001;
export const RECEIVER = 0x2002;

export async function run(cfg, log) {
  const { binding, tmpDir, size } = cfg;
  const { batch, boundUpTo = Infinity } = cfg.sizes.remoteMerge;

  let history = null;
  let adapter = null;
  let replicError = null;
  try {
    adapter = await adapterFor(binding);
    const t0 = now();
    history = singleOriginHistory(await core(), { origin: ORIGIN, count: size, batch });
    log(`encoded ${size.toLocaleString("en-US")} patches into ${history.messages.length} messages, ${history.bytes.toLocaleString("en-US")} bytes, in ${((now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    replicError = String(e.message || e);
  }

  const data = rows(1, size);
  const plan = {};

  const res = await interleave(
    {
      "raw.batched": async () => {
        const db = await openDb(binding, tmpDir, "raw");
        db.exec(ITEMS_DDL);
        const upsert = db.prepareUpsert();
        const t0 = now();
        for (let i = 0; i < size; i += batch) {
          const end = Math.min(size, i + batch);
          db.exec("BEGIN");
          for (let k = i; k < end; k++) upsert(data[k]);
          db.exec("COMMIT");
        }
        const s = (now() - t0) / 1000;
        expectRows(db, size);
        db.close();
        return size / s;
      },
      "replic.merge": async () => {
        if (!history) throw new Error(`replic unavailable: ${replicError}`);
        const { seconds } = await mergeOnce(adapter, binding, tmpDir, history, size);
        return size / seconds;
      },
      ...(size <= boundUpTo && history
        ? {
            "bound.merge": boundVariant({
              binding,
              tmpDir,
              adapter,
              peerId: RECEIVER,
              rows: size,
              drive: (replica) => {
                replica.addPeer(ORIGIN, () => {});
                for (const m of history.messages) replica.receive(ORIGIN, m);
              },
              check: (db) => expectRows(db, size),
              info: plan,
            }),
          }
        : {}),
    },
    cfg,
    log,
  );
  const notes = [];
  if (plan.calls) notes.push(`SQL-only bound at ${size.toLocaleString("en-US")}: ${plan.calls.toLocaleString("en-US")} statement calls (${plan.statements} distinct) replayed, ${(plan.calls / size).toFixed(3)} per patch`);
  else if (size > boundUpTo) notes.push(`SQL-only bound not measured at ${size.toLocaleString("en-US")} (above sizes.remoteMerge.boundUpTo = ${boundUpTo.toLocaleString("en-US")}: the recorded statements are held in memory)`);
  return { metrics: res, notes, params: { count: size, batch, messages: history?.messages.length ?? null, wireBytes: history?.bytes ?? null } };
}

/** One merge of a whole history into a fresh replica; returns { seconds }. */
export async function mergeOnce(adapter, binding, tmpDir, history, size, onReady, { measureDb = false } = {}) {
  const db = await openDb(binding, tmpDir, "replic");
  const replica = openReplicaOn(adapter, db, RECEIVER);
  replica.addPeer(ORIGIN, () => {});
  if (onReady) onReady();
  const t0 = now();
  for (const m of history.messages) replica.receive(ORIGIN, m);
  const seconds = (now() - t0) / 1000;
  replica.close();
  expectRows(db, size);
  const dbBytes = measureDb ? databaseBytes(db) : null;
  db.close();
  return { seconds, dbBytes };
}

export function expectRows(db, n) {
  const [c] = db.get("SELECT count(*) FROM items");
  if (Number(c) !== n) throw new Error(`expected ${n} rows, found ${c}`);
}

/** Size of a database in bytes (page_count × page_size). */
export function databaseBytes(db) {
  return Number(db.get("PRAGMA page_count")[0]) * Number(db.get("PRAGMA page_size")[0]);
}
