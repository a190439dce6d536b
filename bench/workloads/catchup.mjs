// Workload 4 — catch-up over a loopback WebSocket (and its memory, workload 7).
// A sender process holds N patches (its own writes, written by a set-up process, untimed); a
// fresh receiver process connects over a `ws` WebSocket on 127.0.0.1 and catches up through
// replic's protocol. Reported: seconds from connection to converged (receiver holds all N and
// 1..N contiguously), and the peak RSS of each process. Each run uses a fresh receiver and a
// fresh sender process on the same sender database. Both databases are files on every binding
// (what a real receiver has); on WASM one more run puts the receiver's database in :memory:,
// where it lives in the WASM heap, as a reference (notes, and the receiverMemoryDb* metrics).
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { removeDbFiles } from "../lib/bindings.mjs";
import { spawnPeer } from "../lib/spawn.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, "..", "peers", "catchup-peer.mjs");

export async function run(cfg, log) {
  const { binding, tmpDir } = cfg;
  const { patches, batch, heartbeatMs = 1000 } = cfg.sizes.catchup;
  const dbPath = join(tmpDir, `catchup-sender-${binding}-${process.pid}.db`);
  const base = { binding, tmpDir, dbPath, patches, batch, heartbeatMs };
  const peerLog = (m) => process.stderr.write(m + "\n");

  try {
    const setup = await spawnPeer(PEER, { ...base, role: "setup" }, { log: peerLog }).result;
    if (!setup.ok) throw new Error(`setup failed: ${setup.error}`);

    const seconds = [];
    const rate = [];
    const senderPeakRss = [];
    const receiverPeakRss = [];
    const details = [];
    const once = async (receiverDb) => {
      const sender = spawnPeer(PEER, { ...base, role: "send" }, { log: peerLog });
      const port = Number(await sender.line("READY"));
      const receiver = spawnPeer(PEER, { ...base, role: "recv", port, receiverDb }, { log: peerLog });
      const r = await receiver.result;
      if (!r.ok) {
        sender.child.kill();
        throw new Error(`receiver failed: ${r.error}`);
      }
      const s = await sender.result;
      if (!s.ok) throw new Error(`sender failed: ${s.error}`);
      return { r, s };
    };
    for (let run = 0; run < cfg.runs; run++) {
      const { r, s } = await once("file");
      seconds.push(r.seconds);
      rate.push(patches / r.seconds);
      senderPeakRss.push(s.peakRss);
      receiverPeakRss.push(r.peakRss);
      details.push({ seconds: r.seconds, receiverDbBytes: r.dbBytes, receiverBusySeconds: r.busySeconds, senderBusySeconds: s.busySeconds, messages: r.messages, bytesIn: r.bytesIn, requested: r.requested, served: s.served });
      log(`run ${run + 1}/${cfg.runs}: ${r.seconds.toFixed(2)} s, ${r.messages} messages, ${(r.bytesIn / 2 ** 20).toFixed(1)} MiB, peak RSS sender ${(s.peakRss / 2 ** 20).toFixed(0)} MB / receiver ${(r.peakRss / 2 ** 20).toFixed(0)} MB`);
    }
    // Reference: the WASM receiver with its database in :memory: (inside the WASM heap).
    const inMemory = binding === "wasm" ? (await once("memory")).r : null;
    if (inMemory) log(`reference run, receiver on :memory:: ${inMemory.seconds.toFixed(2)} s, peak RSS receiver ${(inMemory.peakRss / 2 ** 20).toFixed(0)} MB, database ${(inMemory.dbBytes / 2 ** 20).toFixed(0)} MB`);
    return {
      metrics: {
        seconds: { samples: seconds },
        rate: { samples: rate },
        senderPeakRss: { samples: senderPeakRss },
        receiverPeakRss: { samples: receiverPeakRss },
        ...(inMemory ? { receiverMemoryDbPeakRss: { samples: [inMemory.peakRss] }, receiverMemoryDbBytes: { samples: [inMemory.dbBytes] } } : {}),
      },
      params: { count: patches, heartbeatMs, receiverDb: "file", runs: details },
      notes: [
        ...(inMemory
          ? [`receiver database: a file (rollback journal, one commit per message; ${(details[0].receiverDbBytes / 2 ** 20).toFixed(0)} MB on disk). Reference run with the receiver's database in :memory: instead: peak RSS ${(inMemory.peakRss / 2 ** 20).toFixed(0)} MB, of which the database ${(inMemory.dbBytes / 2 ** 20).toFixed(0)} MB inside the WASM heap; ${inMemory.seconds.toFixed(1)} s`]
          : []),
        `time inside receive() per run — receiver (merging): ${details.map((d) => d.receiverBusySeconds.toFixed(1)).join(", ")} s; sender (serving requests: read, encode, send): ${details.map((d) => d.senderBusySeconds.toFixed(1)).join(", ")} s`,
        `patches requested per patch needed (1.0 = no re-sends): ${details.map((d) => (d.requested / patches).toFixed(2)).join(", ")}; bytes received per patch: ${details.map((d) => (d.bytesIn / patches).toFixed(1)).join(", ")}`,
      ],
    };
  } finally {
    removeDbFiles(dbPath);
  }
}
