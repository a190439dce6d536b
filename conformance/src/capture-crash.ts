/**
 * Crash safety of captured tables: plain SQL transactions on a captured table, committed through
 * the native database, become patches exactly once across SIGKILLs. A child process
 * (capture-crash-child.mjs, on the adapter's built dist, under the binding's runtime) commits
 * transactions (insert row i, set `v` of row i-1) and one that rolls back after each, and drains
 * with flush() every few; the parent kills it at a random moment — between a commit and its
 * drain, or inside a drain — reopens the file the way an application does (openReplica with
 * capture, which drains what is left) and checks:
 *
 * - every committed transaction is in the table, none that rolled back is, in the table or the log;
 * - the queue is empty, own sequences are 1..n (none reused, none skipped);
 * - each row has exactly one patch of its INSERT and at most one of its UPDATE (never drained
 *   twice), and the UPDATE of transaction i carries the stamp of its INSERT (one transaction, one
 *   drain, one stamp);
 * - a follower catching up from the file holds the same table (nothing lost from the log).
 *
 * REPLIC_CRASH_KILLS: kills per binding (split between journal modes; default 50);
 * REPLIC_CRASH_SEED replays a run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CAPTURE_MIGRATIONS } from "./capture-crash-shared.mjs";
import { CRASH_CHILD_PATH, type JournalMode } from "./crash.js";
import { fail } from "./fail.js";
import { Child, repair } from "./group-crash.js";
import type { ConformanceBinding } from "./types.js";
import { dumpTable, envInt, prng, randInt } from "./util.js";

export const CAPTURE_CRASH_CHILD_PATH = fileURLToPath(new URL("./capture-crash-child.mjs", import.meta.url));
const QUEUE = "_replic_captured_cap_items";

function captureChild<Db>(b: ConformanceBinding<Db>, dbPath: string, mode: JournalMode, flushEvery: number, startId: number, what: string): Child {
  const [script, ...rest] = b.childCommand.args;
  if (script !== CRASH_CHILD_PATH) fail(`conformance: ${b.name} childCommand does not start the crash child (${script}); build it with crashChildCommand()`);
  return new Child(b.childCommand.cmd, [CAPTURE_CRASH_CHILD_PATH, ...rest, dbPath, mode, String(flushEvery), String(startId)], what);
}

async function captureKills<Db>(b: ConformanceBinding<Db>, mode: JournalMode, dir: string, rand: () => number, seed: number, kills: number): Promise<void> {
  const dbPath = join(dir, `capture-${mode}.db`);
  const followerDb = b.openDatabase(":memory:");
  const follower = b.adapter.openReplica(followerDb, { peerId: 5, heartbeatMs: 0 });
  follower.migrate(CAPTURE_MIGRATIONS);
  let maxId = 0;
  let peer: number | undefined;
  let waitingAtRestart = 0;
  let flushed = 0;
  try {
    for (let run = 1; run <= kills; run++) {
      const what = `[${b.name} ${mode} REPLIC_CRASH_SEED=${seed} capture run ${run}]`;
      const flushEvery = randInt(rand, 1, 80);
      const commits = randInt(rand, 1, 200);
      const delay = rand() < 0.4 ? 0 : randInt(rand, 1, 6);
      const child = captureChild(b, dbPath, mode, flushEvery, maxId + 1, what);
      await child.until((l) => l.filter((x) => x.startsWith("c ")).length >= commits, `${commits} commits`);
      await child.kill(delay);
      const out = child.lines();
      const committed = out.filter((l) => l.startsWith("c ")).map((l) => Number(l.slice(2)));
      flushed += out.filter((l) => l.startsWith("f ")).length;
      const header = out.find((l) => l.startsWith("peer "));
      if (header) {
        if (peer === undefined) peer = Number(header.slice(5));
        expect(Number(header.slice(5)), `${what} peerId persisted across restarts`).toBe(peer);
      }

      const db = b.openDatabase(dbPath);
      try {
        const queued = b.all(db, `SELECT count(*) AS n FROM sqlite_schema WHERE name = '${QUEUE}'`)[0]!.n ? Number(b.all(db, `SELECT count(*) AS n FROM "${QUEUE}"`)[0]!.n) : 0;
        if (queued > 0) waitingAtRestart++;
        const r = b.adapter.openReplica(db, { heartbeatMs: 0, capture: true });
        try {
          r.migrate(CAPTURE_MIGRATIONS);
          if (peer === undefined) peer = r.peerId;
          expect(r.peerId, `${what} reopened peerId`).toBe(peer);
          expect(Number(b.all(db, `SELECT count(*) AS n FROM "${QUEUE}"`)[0]!.n), `${what} the queue drained at open`).toBe(0);
          const ids = b.all(db, "SELECT id FROM cap_items ORDER BY id").map((x) => Number(x.id));
          ids.forEach((id, k) => {
            if (id !== k + 1) fail(`${what} rows are not 1..${ids.length}: position ${k} holds ${id} (a rolled-back or lost transaction)`);
          });
          for (const id of committed) if (id > ids.length) fail(`${what} committed transaction ${id} is not in the table (${ids.length} rows)`);
          maxId = ids.length;
          expect(Number(b.all(db, "SELECT count(*) AS n FROM cap_items_patches WHERE id < 1 OR v = 2")[0]!.n), `${what} nothing rolled back replicated`).toBe(0);
          const seqs = b.all(db, `SELECT _sequenceId AS s FROM cap_items_patches WHERE _peerId = ${peer} ORDER BY 1`).map((x) => Number(x.s));
          seqs.forEach((s, k) => {
            if (s !== k + 1) fail(`${what} own sequences are not 1..${seqs.length}: position ${k} holds ${s}`);
          });
          expect(r.status() as { sequence: number }, `${what} the replica's sequence`).toMatchObject({ sequence: seqs.length });
          const perRow = b.all(
            db,
            `SELECT id, sum(epoch IS NOT NULL) AS inserts, sum(epoch IS NULL) AS updates, sum(v = 1) AS ones FROM cap_items_patches GROUP BY id HAVING inserts <> 1 OR updates > 1 OR ones > 1`,
          );
          if (perRow.length > 0) fail(`${what} rows drained other than once: ${JSON.stringify(perRow.slice(0, 5))}`);
          const torn = b.all(
            db,
            `SELECT i.id AS id FROM cap_items_patches AS i JOIN cap_items_patches AS u ON u.id = i.id - 1 AND u.v = 1
             WHERE i.epoch IS NOT NULL AND u._patchedAt <> i._patchedAt`,
          );
          if (torn.length > 0) fail(`${what} transaction(s) ${torn.slice(0, 5).map((x) => x.id).join(", ")} drained in parts (two stamps)`);
          expect(Number(b.all(db, "SELECT count(*) AS n FROM cap_items WHERE v = 1")[0]!.n), `${what} every row but the last was updated`).toBe(Math.max(0, ids.length - 1));
          // A follower catches up from the log alone: the table it builds is the writer's.
          repair(follower, r, () => dumpTable(b, followerDb, "cap_items") === dumpTable(b, db, "cap_items"), () => {}, what);
        } finally {
          r.close();
        }
      } finally {
        b.closeDatabase(db);
      }
    }
    // eslint-disable-next-line no-console
    console.log(`[conformance ${b.name}] capture crash test (${mode}): ${kills} kills; captured writes waiting at ${waitingAtRestart} restarts; ${flushed} flushes returned`);
    expect(maxId, "rows written over all runs").toBeGreaterThan(0);
  } finally {
    follower.close();
    b.closeDatabase(followerDb);
  }
}

export function captureCrashSuite<Db>(b: ConformanceBinding<Db>): void {
  const modes: JournalMode[] = b.journalModes ?? ["wal", "delete"];
  const total = envInt("REPLIC_CRASH_KILLS", 50);
  const seed = envInt("REPLIC_CRASH_SEED", Math.floor(Math.random() * 2 ** 31));
  const perMode = Math.max(3, Math.ceil(total / modes.length));
  describe("captured tables, crash safety (kill -9)", () => {
    modes.forEach((mode, m) => {
      const label = mode === "wal" ? "WAL + synchronous=NORMAL" : "rollback journal";
      it(
        `${label}: ${perMode} SIGKILLs between plain SQL commits and their drain, or inside it: each committed change drained exactly once, none rolled back, no sequence reused (REPLIC_CRASH_SEED=${seed})`,
        async () => {
          const dir = mkdtempSync(join(tmpdir(), `replic-capturecrash-${b.name}-${mode}-`));
          try {
            await captureKills(b, mode, dir, prng((seed + m * 1_000_003) >>> 0), seed, perMode);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
        60_000 + perMode * 10_000,
      );
    });
  });
}
