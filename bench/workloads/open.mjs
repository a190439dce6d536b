// Workload 8 — openReplica on a large database.
// A file database holds `patches` patches from `origins` origins (the replica's own writes and
// those of origins-1 other peers, received as wire messages; set up once per bench run by a node
// process, untimed, then copied per binding: WAL on better-sqlite3 and bun:sqlite, a rollback
// journal on WASM, which has no WAL). Then, per run, two fresh processes, in alternating order:
//   replic: the binding's open + openReplica — the first in the process (cold: nothing compiled,
//           no statement prepared, SQLite's page cache empty) and `warm` more (close, open again);
//   raw:    the same opens reading only the schema: the floor of any open of that file;
//   bound:  the same opens running the statements replic's open runs, recorded once and replayed
//           through the binding's own API (the open's SQL-only bound: SQLite's part of it).
// Reported: milliseconds (wall) and the process's CPU milliseconds of those opens. A first process
// records every statement the open runs, its time and EXPLAIN QUERY PLAN, so a scan would show.
import { existsSync, rmSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { removeDbFiles } from "../lib/bindings.mjs";
import { spawnPeer } from "../lib/spawn.mjs";
import { fold } from "../lib/sql-recorder.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const SETUP = join(here, "..", "peers", "open-setup.mjs");
const PEER = join(here, "..", "peers", "open-peer.mjs");
const OWN = 0x6001; // the replica's peer id in the set-up (peers/open-setup.mjs)

export async function run(cfg, log) {
  const { binding, tmpDir } = cfg;
  const { patches, origins, batch, warm } = cfg.sizes.open;
  const peerLog = (m) => process.stderr.write(m + "\n");
  const base = join(tmpDir, `open-base-${patches}-${origins}.db`);
  const path = join(tmpDir, `open-${binding}-${process.pid}.db`);
  const setup = (step) => spawnPeer(SETUP, step, { log: peerLog, runtime: cfg.nodePath }).result;

  // Set-up, untimed: the base file once per bench run (shared by the bindings), then this copy.
  if (!existsSync(base)) {
    const r = await setup({ step: "base", path: base, patches, origins, batch });
    if (!r.ok) throw new Error(`set-up failed: ${r.error}`);
  }
  const c = await setup({ step: "copy", from: base, path, journal: binding === "wasm" ? "DELETE" : "WAL" });
  if (!c.ok) throw new Error(`copy failed: ${c.error}`);
  const fileBytes = statSync(path).size;

  const openLog = join(tmpDir, `open-log-${binding}-${process.pid}.json`);
  try {
    // Which statements the open runs, and how SQLite runs them (and the log the bound replays).
    const ex = await spawnPeer(PEER, { kind: "explain", binding, path, peerId: OWN, log: openLog }, { log: peerLog }).result;
    if (!ex.ok) throw new Error(`explain run failed: ${ex.error}`);

    const m = {};
    const push = (k, v) => (m[k] ??= []).push(...v);
    let heads = null;
    const importMs = [];
    const kinds = ["replic", "raw", "bound"];
    for (let round = 0; round < cfg.runs; round++) {
      // Rotate the order, so drift on a shared machine hits all three alike.
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
      for (const kind of order) {
        const r = await spawnPeer(PEER, { kind, binding, path, peerId: OWN, warm, log: openLog }, { log: peerLog }).result;
        if (!r.ok) throw new Error(`${kind} open failed: ${r.error}`);
        push(`${kind}.cold`, [r.coldMs]);
        push(`${kind}.coldCpu`, [r.coldCpuMs]);
        push(`${kind}.warm`, r.warmMs);
        push(`${kind}.warmCpu`, r.warmCpuMs);
        if (kind === "replic") {
          heads = r.heads;
          importMs.push(r.importMs);
        }
        log(`run ${round + 1}/${cfg.runs} ${kind}: cold ${r.coldMs.toFixed(1)} ms (CPU ${r.coldCpuMs.toFixed(1)}), warm ${r.warmMs.map((x) => x.toFixed(1)).join(", ")} ms`);
      }
    }
    if (heads !== origins) throw new Error(`the opened replica tracks ${heads} origins, expected ${origins}`);

    // A scan that stops at its first row (LIMIT 1) is a probe; pragma and schema scans are tiny.
    const scanned = (s) => (s.plan.match(/\bSCAN (\S+)/g) ?? []).map((x) => x.slice(5)).filter((t) => !/^(pragma_|sqlite_schema|_replic_peers|_replic_migrations)/.test(t));
    const scans = ex.statements.filter((s) => !/\bLIMIT 1\b/i.test(s.sql) && scanned(s).length > 0);
    const bigScans = scans.filter((s) => scanned(s).some((t) => t.endsWith("_patches") || t === "items"));
    const sqlMs = ex.statements.reduce((a, s) => a + s.ms, 0);
    const calls = ex.statements.reduce((a, s) => a + s.count, 0);
    const top = ex.statements
      .slice(0, 3)
      .map((s) => `${fold(s.sql).slice(0, 70)} (${s.count}×, ${s.ms.toFixed(1)} ms${s.plan ? `; ${s.plan.slice(0, 90)}` : ""})`)
      .join(" · ");
    const metrics = {};
    for (const [k, v] of Object.entries(m)) metrics[k] = { samples: v };
    return {
      metrics,
      params: { patches, origins, warm, fileBytes, statements: ex.statements.map((s) => ({ sql: fold(s.sql), count: s.count, ms: s.ms, plan: s.plan })) },
      notes: [
        `${patches.toLocaleString("en-US")} patches from ${origins} origins, file ${(fileBytes / 2 ** 20).toFixed(0)} MB; module import before the first open (not in the times): ${importMs.map((x) => x.toFixed(0)).join(", ")} ms`,
        `an open (one explained run) makes ${calls} statement calls (${ex.statements.length} distinct), ${sqlMs.toFixed(1)} ms inside SQLite; slowest: ${top}`,
        `${bigScans.length === 0 ? "no statement of the open scans a patch table or the row table (EXPLAIN QUERY PLAN): every read of them is an index probe" : `statements that scan a patch or row table at open: ${bigScans.map((s) => `${fold(s.sql).slice(0, 80)} → ${s.plan}`).join(" · ")}`}${scans.length > bigScans.length ? `; other scans: ${scans.filter((s) => !bigScans.includes(s)).map((s) => `${fold(s.sql).slice(0, 60)} (${scanned(s).join(", ")})`).join(" · ")}` : ""}`,
      ],
    };
  } finally {
    removeDbFiles(path);
    rmSync(openLog, { force: true });
  }
}
