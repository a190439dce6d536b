// Workload 1 — local writes.
// N upsert calls through replic vs a raw prepared INSERT ... ON CONFLICT DO UPDATE into the same
// table, on the same binding, in the same process:
//   batched: all N in one transaction (replica.transaction / BEGIN ... COMMIT)
//   many:    the same rows through replica.upsertMany (one call, many rows per statement)
//   single:  one transaction per row (replica.upsert alone / raw autocommit)
// and, for each, the SQL-only bound (lib/sql-bound.mjs): replic's own statements of that path,
// recorded once and replayed on a fresh database without replic.
import { ITEMS_DDL, rows } from "../lib/data.mjs";
import { openDb } from "../lib/bindings.mjs";
import { adapterFor, openReplicaOn } from "../lib/replic.mjs";
import { interleave } from "../lib/measure.mjs";
import { boundVariant } from "../lib/sql-bound.mjs";
import { now } from "../lib/proc.mjs";

export async function run(cfg, log) {
  const { binding, tmpDir } = cfg;
  const { batched: nBatched, single: nSingle } = cfg.sizes.localWrites;
  const batchRows = rows(1, nBatched);
  const singleRows = nSingle === nBatched ? batchRows : rows(1, nSingle);

  let adapter = null;
  let adapterError = null;
  try {
    adapter = await adapterFor(binding);
  } catch (e) {
    adapterError = String(e.message || e);
  }

  const raw = (data, batched) => async () => {
    const db = await openDb(binding, tmpDir, "raw");
    db.exec(ITEMS_DDL);
    const upsert = db.prepareUpsert();
    const t0 = now();
    if (batched) {
      db.exec("BEGIN");
      for (let i = 0; i < data.length; i++) upsert(data[i]);
      db.exec("COMMIT");
    } else {
      for (let i = 0; i < data.length; i++) upsert(data[i]);
    }
    const secs = (now() - t0) / 1000;
    check(db, data.length);
    db.close();
    return data.length / secs;
  };

  const replicMany = (data) => async () => {
    if (!adapter) throw new Error(`replic adapter unavailable: ${adapterError}`);
    const db = await openDb(binding, tmpDir, "replic");
    const replica = openReplicaOn(adapter, db, 0x1001);
    const t0 = now();
    replica.upsertMany("items", data);
    const secs = (now() - t0) / 1000;
    replica.close();
    check(db, data.length);
    db.close();
    return data.length / secs;
  };

  const replic = (data, batched) => async () => {
    if (!adapter) throw new Error(`replic adapter unavailable: ${adapterError}`);
    const db = await openDb(binding, tmpDir, "replic");
    const replica = openReplicaOn(adapter, db, 0x1001);
    const t0 = now();
    if (batched) {
      replica.transaction(() => {
        for (let i = 0; i < data.length; i++) replica.upsert("items", data[i]);
      });
    } else {
      for (let i = 0; i < data.length; i++) replica.upsert("items", data[i]);
    }
    const secs = (now() - t0) / 1000;
    replica.close();
    check(db, data.length);
    db.close();
    return data.length / secs;
  };

  const plans = { batched: {}, many: {}, single: {} };
  const bound = (data, drive, info) => {
    if (!adapter) return async () => {
      throw new Error(`replic adapter unavailable: ${adapterError}`);
    };
    return boundVariant({ binding, tmpDir, adapter, peerId: 0x1001, rows: data.length, drive, check: (db) => check(db, data.length), info });
  };
  const res = await interleave(
    {
      "raw.batched": raw(batchRows, true),
      "replic.batched": replic(batchRows, true),
      "bound.batched": bound(batchRows, (r) => r.transaction(() => batchRows.forEach((row) => r.upsert("items", row))), plans.batched),
      "replic.many": replicMany(batchRows),
      "bound.many": bound(batchRows, (r) => r.upsertMany("items", batchRows), plans.many),
      "raw.single": raw(singleRows, false),
      "replic.single": replic(singleRows, false),
      "bound.single": bound(singleRows, (r) => singleRows.forEach((row) => r.upsert("items", row)), plans.single),
    },
    cfg,
    log,
  );
  return {
    metrics: res,
    params: { batchedRows: nBatched, singleRows: nSingle, replayed: plans },
    notes: Object.entries(plans)
      .filter(([, p]) => p.calls)
      .map(([path, p]) => `SQL-only bound of ${path}: ${p.calls.toLocaleString("en-US")} statement calls (${p.statements} distinct) replayed, ${(p.calls / (path === "single" ? nSingle : nBatched)).toFixed(2)} per row`),
  };
}

function check(db, n) {
  const [c] = db.get("SELECT count(*) FROM items");
  if (Number(c) !== n) throw new Error(`expected ${n} rows, found ${c}`);
}
