// Capture crash-test child, runnable under Node and Bun (plain ESM, no TypeScript).
//
//   <runtime> capture-crash-child.mjs <driver> <adapterEntry> <nativeModule> <dbPath> <journal> <flushEvery> <startId>
//
// driver, adapterEntry, nativeModule, journal: as crash-child.mjs. Opens the file with
// capture: true, migrates, prints "peer <peerId>", then commits plain SQL transactions through the
// native database (not through the replica) in a loop, each followed by one that rolls back,
// from row <startId> on, printing "c <id>" once the COMMIT returned; after every <flushEvery> of them it calls
// replica.flush() and prints "f <token>". The parent SIGKILLs the process at a moment it picks:
// between a commit and its drain, or inside a drain.
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { openCrashDatabase } from "./crash-shared.mjs";
import { CAPTURE_MIGRATIONS, captureTransaction, rolledBackTransaction } from "./capture-crash-shared.mjs";

const [driver, adapterEntry, nativeModule, dbPath, journal, flushArg, startArg] = process.argv.slice(2);
const out = (line) => writeSync(1, line + "\n");

async function main() {
  const adapter = await import(pathToFileURL(adapterEntry).href);
  const db = await openCrashDatabase(driver, nativeModule, dbPath, journal);
  const replica = adapter.openReplica(db, { heartbeatMs: 0, capture: true });
  replica.migrate(CAPTURE_MIGRATIONS);
  out(`peer ${replica.peerId}`);
  const flushEvery = Number(flushArg);
  for (let id = Number(startArg); ; id++) {
    db.exec(captureTransaction(id));
    out(`c ${id}`);
    db.exec(rolledBackTransaction(id));
    if (id % flushEvery === 0) out(`f ${replica.flush()}`);
  }
}

main().catch((e) => {
  writeSync(2, `capture-crash-child failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(3);
});
