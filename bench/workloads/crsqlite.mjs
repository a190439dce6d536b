// Workload 3 — side by side with cr-sqlite, on the same WASM runtime (V8 in Node).
//
// cr-sqlite side (crsqlite-sync build of @vlcn.io/wa-sqlite, synchronous binding in lib/crsqlite.mjs):
//   cr.insert : N rows upserted into a CRR (crsql_as_crr) in one transaction
//   cr.merge  : the changes of those rows (SELECT * FROM crsql_changes, read untimed) applied to a
//               second CRR database with INSERT INTO crsql_changes, in transactions of `batch` rows
//   cr.raw    : the same rows upserted into a plain table on the same build (binding calibration)
// replic side (node-sqlite3-wasm, :memory:):
//   replic.insert : the same N rows through replica.transaction(upsert ...)
//   replic.merge  : the wire messages a replica sends for those writes (captured untimed, `batch`
//                   patches each), received by a second replica
//   replic.raw    : raw prepared upsert on node-sqlite3-wasm (binding calibration)
// Unit: rows/s (a cr-sqlite change is one column of one row; rows/s counts rows for both).
import { ITEMS_DDL, RAW_UPSERT_SQL, rows } from "../lib/data.mjs";
import { openDb } from "../lib/bindings.mjs";
import { adapterFor, openReplicaOn } from "../lib/replic.mjs";
import { loadCrsqlite, CrDatabase } from "../lib/crsqlite.mjs";
import { interleave } from "../lib/measure.mjs";
import { now } from "../lib/proc.mjs";

const CHANGES_SELECT = `SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes`;
const CHANGES_INSERT = `INSERT INTO crsql_changes("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export async function run(cfg, log) {
  const { rows: n, batch } = cfg.sizes.crsqlite;
  const data = rows(1, n);
  const M = await loadCrsqlite();

  let adapter = null;
  let adapterError = null;
  try {
    adapter = await adapterFor("wasm");
  } catch (e) {
    adapterError = String(e.message || e);
  }

  // cr-sqlite changes and replic messages are produced once (untimed) and reused by every merge run.
  let crChanges = null;
  let replicMessages = null;

  const crOpen = (crr) => {
    const db = new CrDatabase(M, ":memory:");
    db.exec(ITEMS_DDL);
    if (crr) db.exec("SELECT crsql_as_crr('items')");
    return db;
  };
  const crUpsertAll = (db) => {
    const st = db.prepare(RAW_UPSERT_SQL);
    db.exec("BEGIN");
    for (let i = 0; i < data.length; i++) {
      const r = data[i];
      st.run([r.id, r.name, r.qty, r.price, r.note, r.deletedAt]);
    }
    db.exec("COMMIT");
  };
  const crCount = (db) => Number(db.prepare("SELECT count(*) FROM items").get()[0]);

  // The messages a replica sends for the N rows, captured from its link to a neighbour (untimed).
  const replicWrites = async () => {
    const db = await openDb("wasm", cfg.tmpDir, "replic");
    const replica = openReplicaOn(adapter, db, 0x3001, { maxBatchPatches: batch });
    const captured = [];
    replica.addPeer(0x3002, (bytes) => captured.push(bytes));
    replica.transaction(() => {
      for (let i = 0; i < data.length; i++) replica.upsert("items", data[i]);
    });
    replica.close();
    db.close();
    if (!captured.length) throw new Error("the replica sent no messages for its writes");
    return captured;
  };

  const variants = {
    "cr.raw": async () => {
      const db = crOpen(false);
      const t0 = now();
      crUpsertAll(db);
      const s = (now() - t0) / 1000;
      expect(crCount(db), n);
      db.close();
      return n / s;
    },
    "cr.insert": async () => {
      const db = crOpen(true);
      const t0 = now();
      crUpsertAll(db);
      const s = (now() - t0) / 1000;
      expect(crCount(db), n);
      if (!crChanges) crChanges = db.prepare(CHANGES_SELECT).all();
      db.close();
      return n / s;
    },
    "cr.merge": async () => {
      if (!crChanges) {
        const src = crOpen(true);
        crUpsertAll(src);
        crChanges = src.prepare(CHANGES_SELECT).all();
        src.close();
      }
      const db = crOpen(true);
      const st = db.prepare(CHANGES_INSERT);
      const perRow = crChanges.length / n; // changes per row (one per non-key column)
      const perTx = Math.max(1, Math.round(batch * perRow));
      const t0 = now();
      for (let i = 0; i < crChanges.length; i += perTx) {
        db.exec("BEGIN");
        const end = Math.min(crChanges.length, i + perTx);
        for (let k = i; k < end; k++) st.run(crChanges[k]);
        db.exec("COMMIT");
      }
      const s = (now() - t0) / 1000;
      expect(crCount(db), n);
      db.close();
      return n / s;
    },
    "replic.raw": async () => {
      const db = await openDb("wasm", cfg.tmpDir, "raw");
      db.exec(ITEMS_DDL);
      const up = db.prepareUpsert();
      const t0 = now();
      db.exec("BEGIN");
      for (let i = 0; i < data.length; i++) up(data[i]);
      db.exec("COMMIT");
      const s = (now() - t0) / 1000;
      db.close();
      return n / s;
    },
    "replic.insert": async () => {
      // No neighbour linked, like workload 1 and like the cr-sqlite insert (no changeset made).
      if (!adapter) throw new Error(`replic adapter unavailable: ${adapterError}`);
      const db = await openDb("wasm", cfg.tmpDir, "replic");
      const replica = openReplicaOn(adapter, db, 0x3001, { maxBatchPatches: batch });
      const t0 = now();
      replica.transaction(() => {
        for (let i = 0; i < data.length; i++) replica.upsert("items", data[i]);
      });
      const s = (now() - t0) / 1000;
      replica.close();
      expect(Number(db.get("SELECT count(*) FROM items")[0]), n);
      db.close();
      return n / s;
    },
    "replic.merge": async () => {
      if (!adapter) throw new Error(`replic adapter unavailable: ${adapterError}`);
      if (!replicMessages) replicMessages = await replicWrites();
      const db = await openDb("wasm", cfg.tmpDir, "replic");
      const replica = openReplicaOn(adapter, db, 0x3002);
      replica.addPeer(0x3001, () => {});
      const t0 = now();
      for (const m of replicMessages) replica.receive(0x3001, m);
      const s = (now() - t0) / 1000;
      replica.close();
      expect(Number(db.get("SELECT count(*) FROM items")[0]), n);
      db.close();
      return n / s;
    },
  };

  const res = await interleave(variants, cfg, log);
  return {
    metrics: res,
    params: {
      rows: n,
      crChangesPerRow: crChanges ? crChanges.length / n : null,
      replicMessages: replicMessages ? replicMessages.length : null,
      replicBytes: replicMessages ? replicMessages.reduce((a, m) => a + m.length, 0) : null,
      mergeBatchRows: batch,
    },
  };
}

function expect(got, want) {
  if (got !== want) throw new Error(`expected ${want} rows, found ${got}`);
}
