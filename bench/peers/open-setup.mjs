// Set-up of the open workload (untimed), run with node: writes a file database holding `patches`
// patches from `origins` origins, then a copy for one binding.
//
//   {step: "base", path, patches, origins, batch}
//     The replica itself (peer OWN) wrote patches/origins rows with upsertMany; each of the other
//     origins-1 peers sent as many, received as wire messages of `batch` patches; every origin
//     writes rows of its own, so `items` holds `patches` rows too. Closed cleanly (WAL checkpointed).
//   {step: "copy", from, path, journal}
//     Copies the base file to `path` in journal mode `journal` (WAL, or DELETE for the WASM
//     build, which has no WAL).
import { copyFileSync } from "node:fs";
import { openDb, removeDbFiles } from "../lib/bindings.mjs";
import { TABLE, rows } from "../lib/data.mjs";
import { adapterFor, core as loadCore, openReplicaOn } from "../lib/replic.mjs";
import { singleOriginHistory } from "../lib/history.mjs";
import { emit, now } from "../lib/proc.mjs";

export const OWN = 0x6001;
export const ORIGIN_BASE = 0x6100;

const cfg = JSON.parse(process.argv[2]);
const log = (m) => process.stderr.write(`  [open setup] ${m}\n`);

try {
  if (cfg.step === "base") await base();
  else if (cfg.step === "copy") await copy();
  else throw new Error(`unknown step ${cfg.step}`);
  emit({ ok: true });
  process.exit(0);
} catch (e) {
  emit({ ok: false, error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
}

async function base() {
  const t0 = now();
  const adapter = await adapterFor("node");
  const core = await loadCore();
  removeDbFiles(cfg.path);
  const db = await openDb("node", null, "open-base", { path: cfg.path });
  const replica = openReplicaOn(adapter, db, OWN);
  const perOrigin = Math.floor(cfg.patches / cfg.origins);
  const chunk = 10_000;
  for (let first = 1; first <= perOrigin; first += chunk) replica.upsertMany(TABLE, rows(first, Math.min(chunk, perOrigin - first + 1)));
  for (let o = 1; o < cfg.origins; o++) {
    const origin = ORIGIN_BASE + o;
    replica.addPeer(origin, () => {});
    // One origin at a time, so only its messages are in memory.
    const h = singleOriginHistory(core, { origin, count: perOrigin, batch: cfg.batch, firstRow: o * perOrigin + 1 });
    for (const m of h.messages) replica.receive(origin, m);
    replica.removePeer(origin);
  }
  const total = perOrigin * cfg.origins;
  const [stored] = db.get(`SELECT (SELECT count(*) FROM ${TABLE}_patches) + (SELECT count(*) FROM ${TABLE})`);
  if (Number(stored) !== 2 * total) throw new Error(`expected ${total} patches and rows, found ${stored} together`);
  replica.close();
  db.close({ keep: true });
  log(`${total.toLocaleString("en-US")} patches from ${cfg.origins} origins written in ${((now() - t0) / 1000).toFixed(1)} s`);
}

async function copy() {
  removeDbFiles(cfg.path);
  copyFileSync(cfg.from, cfg.path);
  if (cfg.journal !== "WAL") {
    // A file in WAL mode cannot be read by a build without WAL: switch it back (needs node's binding).
    const db = await openDb("node", null, "open-copy", { path: cfg.path });
    db.exec(`PRAGMA journal_mode = ${cfg.journal}`);
    db.close({ keep: true });
  }
}
