// Workload 6 — wire size: bytes per patch of the benchmark table on the wire vs the same patches
// as JSON ({kind, patches: [{table, peerId, seq, patchedAt, values: {column: value}}]}, one JSON
// document per message, the same message boundaries).
//
// The messages measured are the ones a real replica sends: N local upserts in transactions of
// `batch` rows, captured from the link to a neighbour. The synthetic history of the merge
// workloads is measured too and reported in the notes.
import { rows } from "../lib/data.mjs";
import { openDb } from "../lib/bindings.mjs";
import { adapterFor, core as loadCore, openReplicaOn } from "../lib/replic.mjs";
import { jsonMessage, singleOriginHistory } from "../lib/history.mjs";

export async function run(cfg, log) {
  const { binding, tmpDir } = cfg;
  const { patches: n, batch } = cfg.sizes.wireSize;
  const core = await loadCore();
  const adapter = await adapterFor(binding);
  const decode = core.decodeMessage ?? core.decodeWire;

  // Messages a replica produces.
  const db = await openDb(binding, tmpDir, "wire");
  const replica = openReplicaOn(adapter, db, 0x6001);
  const sent = [];
  replica.addPeer(0x6002, (bytes) => sent.push(bytes.slice()));
  const data = rows(1, n);
  for (let i = 0; i < n; i += batch) {
    const end = Math.min(n, i + batch);
    replica.transaction(() => {
      for (let k = i; k < end; k++) replica.upsert("items", data[k]);
    });
  }
  replica.close();
  db.close();

  let wire = 0;
  let json = 0;
  let patches = 0;
  for (const bytes of sent) {
    const msg = decode.call(core, bytes);
    if (msg.kind !== "patches") continue;
    const ps = normalize(msg);
    wire += bytes.length;
    json += Buffer.byteLength(jsonMessage(ps));
    patches += ps.length;
  }
  if (patches !== n) throw new Error(`captured ${patches} patches in ${sent.length} messages, expected ${n}`);

  // The synthetic history used by the merge workloads.
  const hist = singleOriginHistory(core, { origin: 0x6003, count: n, batch });
  let histJson = 0;
  for (const bytes of hist.messages) histJson += Buffer.byteLength(jsonMessage(normalize(decode.call(core, bytes))));

  log(`replica messages: ${sent.length}, ${(wire / n).toFixed(1)} B/patch vs JSON ${(json / n).toFixed(1)} B/patch`);
  return {
    metrics: {
      "replic.bytesPerPatch": { samples: [wire / n] },
      "json.bytesPerPatch": { samples: [json / n] },
    },
    params: { patches: n, batch, messages: sent.length, wireBytes: wire, jsonBytes: json },
    notes: [
      `synthetic merge history (${n.toLocaleString("en-US")} patches, ${batch} per message): ${(hist.bytes / n).toFixed(1)} B/patch on the wire vs ${(histJson / n).toFixed(1)} B/patch as JSON (${((100 * hist.bytes) / histJson).toFixed(0)}%)`,
    ],
  };
}

/** A decoded patches message as [{table, peerId, seq, patchedAt, values: {column: value}}]. */
export function normalize(msg) {
  if (Array.isArray(msg.tables)) {
    return msg.patches.map((p) => {
      const t = msg.tables[p.table];
      const values = {};
      p.columns.forEach((ci, i) => (values[t.columns[ci]] = p.values[i]));
      return { table: t.name, peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, values };
    });
  }
  return msg.patches.map((p) => ({ table: p.table, peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, values: p.values }));
}
