// Workload 5 — gap detection and repair.
// 10 origin peers wrote N patches together (N/10 each, consecutive sequences). A hub replica
// holds them all; a second replica received the same history with 1% of the patches missing
// (chosen at random, the same set on every run and binding; the tail of an origin can be among
// them, which only heartbeats reveal). Set-up is untimed. Then both are linked through an
// in-memory transport and heartbeat rounds (tick() on both, then deliver every queued message)
// run back to back, with no idle time, until the receiver holds every patch.
//   detectSeconds : until the receiver's request messages cover every missing patch
//   repairSeconds : until it holds them all (every origin contiguous to its last sequence)
//   rounds        : heartbeat rounds needed (real time ≈ rounds × heartbeat interval + these seconds)
import { openDb } from "../lib/bindings.mjs";
import { adapterFor, core as loadCore, openReplicaOn } from "../lib/replic.mjs";
import { makeEncoder, patch, prng } from "../lib/history.mjs";
import { interleave } from "../lib/measure.mjs";
import { now } from "../lib/proc.mjs";

const HUB = 0x5001;
const RECEIVER = 0x5002;
const ORIGIN_BASE = 0x5100;

export async function run(cfg, log) {
  const { binding, tmpDir } = cfg;
  const { patches: total, peers, missing: fraction, batch } = cfg.sizes.gapRepair;
  const core = await loadCore();
  const adapter = await adapterFor(binding);
  const encode = makeEncoder(core);

  // The history: origin p writes rows p*perPeer+1.., seq 1..perPeer, interleaved in time.
  const perPeer = Math.floor(total / peers);
  const all = [];
  for (let p = 0; p < peers; p++) {
    for (let s = 1; s <= perPeer; s++) all.push(patch(ORIGIN_BASE + p, s, p * perPeer + s, (s - 1) * peers + p));
  }
  const rand = prng(42);
  const withheld = new Set();
  const wantMissing = Math.max(1, Math.round(all.length * fraction));
  while (withheld.size < wantMissing) withheld.add(Math.floor(rand() * all.length));
  const toMessages = (list) => {
    const out = [];
    for (let i = 0; i < list.length; i += batch) out.push(encode(list.slice(i, i + batch)));
    return out;
  };
  const hubMessages = [];
  for (let p = 0; p < peers; p++) hubMessages.push(...toMessages(all.slice(p * perPeer, (p + 1) * perPeer)));
  const partial = [];
  for (let p = 0; p < peers; p++) {
    const own = [];
    for (let i = p * perPeer; i < (p + 1) * perPeer; i++) if (!withheld.has(i)) own.push(all[i]);
    partial.push(...toMessages(own));
  }
  const missingSeqs = new Set([...withheld].map((i) => `${all[i].peerId}.${all[i].seq}`));
  const decode = core.decodeMessage;

  const extra = { rounds: [], detect: [] };
  const res = await interleave(
    {
      repair: async () => {
        const hubDb = await openDb(binding, tmpDir, "hub");
        const rcvDb = await openDb(binding, tmpDir, "receiver");
        const hub = openReplicaOn(adapter, hubDb, HUB);
        const rcv = openReplicaOn(adapter, rcvDb, RECEIVER);
        // Set-up: each learns the history from an unlinked sender (no relay, no heads).
        for (const m of hubMessages) hub.receive(ORIGIN_BASE, m);
        for (const m of partial) rcv.receive(ORIGIN_BASE, m);

        const queue = [];
        let requestedAll = null;
        const asked = new Set();
        hub.addPeer(RECEIVER, (bytes) => queue.push(["rcv", bytes]));
        rcv.addPeer(HUB, (bytes) => {
          if (requestedAll === null) {
            const msg = decode(bytes);
            if (msg.kind === "request") {
              for (const r of msg.ranges) for (let s = r.from; s <= r.to; s++) if (missingSeqs.has(`${r.peerId}.${s}`)) asked.add(`${r.peerId}.${s}`);
              if (asked.size === missingSeqs.size) requestedAll = now();
            }
          }
          queue.push(["hub", bytes]);
        });
        const done = () => rcv.status().origins.filter((o) => o.peerId !== RECEIVER && o.contiguous >= perPeer).length === peers;

        const t0 = now();
        let rounds = 0;
        while (!done()) {
          if (++rounds > 1000) throw new Error(`not repaired after 1000 heartbeat rounds: ${JSON.stringify(rcv.status().origins.filter((o) => o.contiguous < perPeer))}`);
          rcv.tick();
          hub.tick();
          while (queue.length) {
            const [to, bytes] = queue.shift();
            if (to === "rcv") rcv.receive(HUB, bytes);
            else hub.receive(RECEIVER, bytes);
          }
        }
        const seconds = (now() - t0) / 1000;
        const [count] = rcvDb.get("SELECT count(*) FROM items");
        if (Number(count) !== perPeer * peers) throw new Error(`repaired to ${count} rows, expected ${perPeer * peers}`);
        extra.rounds.push(rounds);
        extra.detect.push(((requestedAll ?? now()) - t0) / 1000);
        hub.close();
        rcv.close();
        hubDb.close();
        rcvDb.close();
        return seconds;
      },
    },
    cfg,
    log,
  );
  if (res.repair.error) return { metrics: { repairSeconds: res.repair } };
  const n = res.repair.samples.length;
  return {
    metrics: {
      detectSeconds: { samples: extra.detect.slice(-n) },
      repairSeconds: res.repair,
      missing: { samples: res.repair.samples.map(() => withheld.size) },
    },
    params: { patches: perPeer * peers, peers, withheld: withheld.size, rounds: extra.rounds.slice(-n) },
    notes: [`${withheld.size} of ${(perPeer * peers).toLocaleString("en-US")} patches withheld; heartbeat rounds needed: ${extra.rounds.slice(-n).join(", ")}`],
  };
}
