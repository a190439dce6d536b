// Opening a replic replica on a database opened by lib/bindings.mjs.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ITEMS_DDL, TABLE } from "./data.mjs";
import { loadAdapter } from "./bindings.mjs";
import { recordingDriver } from "./sql-recorder.mjs";

let cached = new Map();

/** The adapter module of a binding, or throws with a readable reason (e.g. core not built yet). */
export async function adapterFor(binding) {
  if (!cached.has(binding)) {
    cached.set(
      binding,
      loadAdapter(binding).then((m) => {
        if (typeof m.openReplica !== "function") throw new Error(`${binding} adapter exports no openReplica`);
        return m;
      }),
    );
  }
  return cached.get(binding);
}

/** Core module (encodeMessage / decodeMessage). */
export async function core() {
  const dir = process.env.REPLIC_BENCH_ADAPTERS;
  if (dir) return import(pathToFileURL(join(dir, "core.mjs")).href);
  return import("@replic/core");
}

/**
 * Creates the benchmark table and its `_patches` sibling (DDL from the adapter's patchesDdl helper)
 * and opens a replica with the caller driving tick() (heartbeatMs: 0).
 */
export function openReplicaOn(adapter, dbh, peerId, extra = {}) {
  dbh.exec(ITEMS_DDL);
  dbh.exec(adapter.patchesDdl(dbh.native, TABLE));
  return adapter.openReplica(dbh.native, { peerId, heartbeatMs: 0, ...extra });
}

/**
 * Like openReplicaOn, through a recording driver (lib/sql-recorder.mjs): returns { replica, rec }.
 * Call rec.start() / rec.stop() around the path whose statements are wanted.
 */
export function openRecordedReplicaOn(adapter, dbh, peerId, extra = {}) {
  dbh.exec(ITEMS_DDL);
  dbh.exec(adapter.patchesDdl(dbh.native, TABLE));
  const rec = recordingDriver(adapter.createDriver(dbh.native));
  const replica = adapter.createReplica(rec.driver, { peerId, heartbeatMs: 0, ...extra });
  return { replica, rec };
}
