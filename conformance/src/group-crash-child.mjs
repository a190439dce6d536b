// Group crash-test child, runnable under Node and Bun (plain ESM, no TypeScript).
//
//   <runtime> group-crash-child.mjs <driver> <adapterEntry> <nativeModule> <dbPath> <journal> <role> <runIndex>
//
// driver, adapterEntry, nativeModule, journal: as crash-child.mjs.
// role "receive": opens the file, migrates, prints "ready", then reads patches messages of origin
//   GROUP_SENDER from stdin (each prefixed by its uint32 LE length), receives each one and prints
//   "ack <n>" (n counts the messages received by this process) once receive returned.
// role "write": opens the file, migrates, prints "peer <peerId>", then commits transactions in a
//   loop, each one order and its lines over two tables (every other one writes the lines with
//   upsertMany), printing "tx <orderId> <token>..." once transaction() returned.
// Output goes through writeSync, so a printed line is never left in a userland buffer; the
// parent SIGKILLs the process at a moment it picks.
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { openCrashDatabase } from "./crash-shared.mjs";
import { GROUP_MIGRATIONS, GROUP_SENDER, WRITER_LINES, writeGroup } from "./group-crash-shared.mjs";

const [driver, adapterEntry, nativeModule, dbPath, journal, role, runArg] = process.argv.slice(2);
const out = (line) => writeSync(1, line + "\n");

async function main() {
  const adapter = await import(pathToFileURL(adapterEntry).href);
  const db = await openCrashDatabase(driver, nativeModule, dbPath, journal);
  const replica = adapter.openReplica(db, { heartbeatMs: 0 });
  replica.migrate(GROUP_MIGRATIONS);
  if (role === "receive") receive(replica);
  else if (role === "write") write(replica, Number(runArg));
  else throw new Error(`unknown role ${role}`);
}

function receive(replica) {
  out("ready");
  let buf = new Uint8Array(0);
  let acked = 0;
  process.stdin.on("data", (chunk) => {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    buf = joined;
    for (;;) {
      if (buf.length < 4) break;
      const n = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);
      if (buf.length < 4 + n) break;
      replica.receive(GROUP_SENDER, buf.slice(4, 4 + n));
      buf = buf.slice(4 + n);
      out(`ack ${++acked}`);
    }
  });
}

function write(replica, run) {
  out(`peer ${replica.peerId}`);
  // Order ids of this run start at run * 1,000,000 (the parent writes the ids just below).
  for (let id = run * 1_000_000 + 1; ; id++) {
    const tokens = writeGroup(replica, [id], WRITER_LINES, id, id % 2 === 0);
    out(`tx ${id} ${tokens.join(" ")}`);
  }
}

main().catch((e) => {
  writeSync(2, `group-crash-child failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(3);
});
