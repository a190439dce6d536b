/**
 * Crash safety as users run it: a child process (crash-child.mjs, under the binding's runtime,
 * on the adapter's built dist) opens a database file, migrates, writes and receives, and is
 * SIGKILLed at seeded random moments — while the runtime starts, while it opens the file, inside
 * migrate, between and during writes and receives. After every kill the file is reopened and:
 * every write whose token was printed is on disk with its row; own sequence numbers are 1..n and
 * the next write gets n+1; remote messages are applied whole (origin 777 holds 1..c, c a
 * multiple of the message size, its rows equal a clean replica's that received the same ones);
 * every applied migration has its rows and no other migration does. Both journal modes the README
 * names run where the binding has them: WAL with synchronous=NORMAL, and the rollback journal.
 *
 * REPLIC_CRASH_KILLS: kills per binding (split between its journal modes; default 50);
 * REPLIC_CRASH_SEED replays a run (each run prints it).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { crashMigrations, crashRow, PATCHES_PER_MESSAGE, REMOTE_PEER, ROWS_PER_MIGRATION } from "./crash-shared.mjs";
import { fail } from "./fail.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { cellString, dumpTable, envInt, hex, parseToken, prng, randInt, typedRows } from "./util.js";

/** Absolute path of the crash-test child script (plain ESM, runs under node and bun). */
export const CRASH_CHILD_PATH = fileURLToPath(new URL("./crash-child.mjs", import.meta.url));

export type JournalMode = "wal" | "delete";

/**
 * The `childCommand` of a binding: `runtime` is the executable (process.execPath under the
 * runtime running the tests), `adapterEntry` the adapter's built ESM entry (file path or URL),
 * `nativeModule` the resolved path of the SQLite binding package (unused for bun:sqlite).
 */
export function crashChildCommand(
  runtime: string,
  driver: "better-sqlite3" | "bun:sqlite" | "node-sqlite3-wasm",
  adapterEntry: string | URL,
  nativeModule = "-",
): { cmd: string; args: string[] } {
  const entry = adapterEntry instanceof URL ? fileURLToPath(adapterEntry) : adapterEntry;
  return { cmd: runtime, args: [CRASH_CHILD_PATH, driver, entry, nativeModule] };
}

const REMOTE_MESSAGES = 400;

function expectedCells(id: number, run: number): string {
  const r = crashRow(id, run);
  return [`int:${id}`, `int:${run}`, `text:${JSON.stringify(r.label)}`, `blob:${hex(r.payload)}`].join(" | ");
}

/** When to kill: after a number of printed lines or after a marker line (+ delay), or at a time after spawn. */
type KillPlan = { kind: "lines"; lines: number; delayMs: number } | { kind: "marker"; marker: string; delayMs: number } | { kind: "spawn"; afterMs: number };

/** Run by run the plans cycle through the phases (so each is hit); the details are random. */
function planKill(run: number, rand: () => number): KillPlan {
  switch (run % 5) {
    case 0:
      // Every other one within 3 ms of spawning, before the runtime has run a line: a fast runtime
      // (Bun) is otherwise often past start-up by the time a later signal lands.
      return { kind: "spawn", afterMs: run % 10 === 0 ? randInt(rand, 0, 3) : randInt(rand, 5, 150) };
    case 1:
      // At once: the migration (thousands of rows) is still running when the signal lands.
      return { kind: "marker", marker: "migrating", delayMs: rand() < 0.75 ? 0 : 1 };
    case 2:
      return { kind: "marker", marker: rand() < 0.5 ? "start" : "opened", delayMs: randInt(rand, 0, 20) };
    default:
      return { kind: "lines", lines: randInt(rand, 8, 120), delayMs: rand() < 0.5 ? 0 : randInt(rand, 1, 10) };
  }
}

function describePlan(p: KillPlan): string {
  if (p.kind === "lines") return `kill after ${p.lines} lines + ${p.delayMs} ms`;
  if (p.kind === "marker") return `kill ${p.delayMs} ms after "${p.marker}"`;
  return `kill ${p.afterMs} ms after spawn`;
}

/** Runs the child and SIGKILLs it as planned (or when it has printed 400 lines); resolves with its output. */
function runAndKill(cmd: string, args: string[], plan: KillPlan): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let killed = false;
    let newlines = 0;
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`crash child printed only ${newlines} lines in 30 s; stderr:\n${err}`));
    }, 30_000);
    function kill() {
      if (killed) return;
      killed = true;
      child.kill("SIGKILL");
    }
    const later = (ms: number) => (ms === 0 ? kill() : setTimeout(kill, ms));
    if (plan.kind === "spawn") later(plan.afterMs);
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      const from = out.length;
      out += chunk;
      for (const ch of chunk) if (ch === "\n") newlines++;
      if (killed) return;
      if (plan.kind === "lines" && newlines >= plan.lines) later(plan.delayMs);
      else if (plan.kind === "marker" && `\n${out}`.slice(from).includes(`\n${plan.marker}\n`)) later(plan.delayMs);
      else if (newlines >= 400) kill(); // a marker already passed: do not run forever
    });
    child.stderr!.on("data", (chunk: string) => {
      err += chunk;
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`crash child exited by itself (code ${code}, signal ${signal}); stderr:\n${err}\nstdout tail:\n${out.slice(-2000)}`));
      else resolve(out);
    });
  });
}

export function crashSuite<Db>(b: ConformanceBinding<Db>): void {
  const modes: JournalMode[] = b.journalModes ?? ["wal", "delete"];
  const total = envInt("REPLIC_CRASH_KILLS", 50);
  const seed = envInt("REPLIC_CRASH_SEED", Math.floor(Math.random() * 2 ** 31));

  describe("crash safety (kill -9)", () => {
    modes.forEach((mode, m) => {
      const kills = Math.ceil(total / modes.length);
      const label = mode === "wal" ? "WAL + synchronous=NORMAL" : "rollback journal";
      it(
        `${label}: ${kills} SIGKILLs (also during open, migrate and receive) lose no returned write and apply messages whole (REPLIC_CRASH_SEED=${seed})`,
        async () => {
          // eslint-disable-next-line no-console
          console.log(`[conformance ${b.name}] crash test (${label}): REPLIC_CRASH_SEED=${seed} REPLIC_CRASH_KILLS=${total}`);
          await crashRuns(b, mode, kills, (seed + m * 1_000_003) >>> 0, seed);
        },
        60_000 + kills * 3_000,
      );
    });
  });
}

async function crashRuns<Db>(b: ConformanceBinding<Db>, mode: JournalMode, kills: number, modeSeed: number, seed: number): Promise<void> {
  const rand = prng(modeSeed);
  const dir = mkdtempSync(join(tmpdir(), `replic-crash-${b.name}-${mode}-`));
  const dbPath = join(dir, "crash.db");
  // The remote origin's messages, written once: the child receives them in order across runs.
  const source = b.openDatabase(":memory:");
  const reference = b.openDatabase(":memory:");
  let sourceReplica: ReplicaLike | undefined;
  let refReplica: ReplicaLike | undefined;
  let refApplied = 0;
  const messages: Uint8Array[] = [];
  try {
    sourceReplica = b.adapter.openReplica(source, { peerId: REMOTE_PEER, heartbeatMs: 0 });
    sourceReplica.migrate(crashMigrations(0));
    sourceReplica.addPeer(1, (m) => messages.push(new Uint8Array(m)));
    for (let i = 0; i < REMOTE_MESSAGES; i++) {
      sourceReplica.transaction(() => {
        for (let k = 0; k < PATCHES_PER_MESSAGE; k++) {
          const n = i * PATCHES_PER_MESSAGE + k;
          sourceReplica!.upsert("crash_remote", n % 3 === 0 ? { id: n % 37, n } : { id: n % 37, v: `m${i}.${k}` });
        }
      });
    }
    const file = Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from(new Uint32Array([m.length]).buffer), Buffer.from(m)])));
    writeFileSync(join(dir, "remote.bin"), file);
    refReplica = b.adapter.openReplica(reference, { peerId: 2, heartbeatMs: 0 });
    refReplica.migrate(crashMigrations(0));

    let peer: number | undefined;
    let lastSeq = 0; // the highest own sequence number handed out so far
    let remoteHigh = 0; // the highest remote sequence reported received
    const stages = new Map<string, number>();
    for (let run = 1; run <= kills; run++) {
      const plan = planKill(run, rand);
      const what = `[${b.name} ${mode} REPLIC_CRASH_SEED=${seed} run ${run}: ${describePlan(plan)}]`;
      const out = await runAndKill(b.childCommand.cmd, [...b.childCommand.args, dbPath, String(run), mode, join(dir, "remote.bin")], plan);

      // What the child printed: only complete lines count.
      const complete = out.slice(0, out.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
      const reached = complete.filter((l) => !/^\d/.test(l) && !l.startsWith("recv ")).pop() ?? "(nothing)";
      stages.set(reached.startsWith("peer") ? "writing" : reached, (stages.get(reached.startsWith("peer") ? "writing" : reached) ?? 0) + 1);
      const header = complete.find((l) => l.startsWith("peer "));
      if (header) {
        const childPeer = Number(header.slice(5));
        if (peer === undefined) peer = childPeer;
        expect(childPeer, `${what} generated peerId is persisted across restarts`).toBe(peer);
      }
      const printed: { seq: number; id: number }[] = [];
      for (const l of complete) {
        if (l.startsWith("recv ")) {
          const hi = Number(l.slice(5));
          expect(hi, `${what} remote messages are received in order`).toBe(remoteHigh + PATCHES_PER_MESSAGE);
          remoteHigh = hi;
        } else if (/^\d/.test(l)) {
          const [token, id] = l.split(" ");
          const t = parseToken(token!);
          expect(t.peerId, `${what} token ${token}`).toBe(peer);
          printed.push({ seq: t.seq, id: Number(id) });
        }
      }
      printed.forEach((p, k) => expect(p.seq, `${what} printed token #${k}: seq after ${lastSeq}`).toBe(lastSeq + 1 + k));

      const attempt = <T>(step: string, fn: () => T): T => {
        try {
          return fn();
        } catch (e) {
          throw new Error(
            `${what} ${step} after the kill failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}; files: ${readdirSync(dir).join(", ")}`,
            { cause: e },
          );
        }
      };
      const db = attempt("opening the database", () => b.openDatabase(dbPath));
      try {
        // Migrations are atomic: each applied one has all its rows, no other one has any.
        const hasTable = (t: string) => b.all(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = '${t}'`).length > 0;
        if (hasTable("_replic_migrations") && hasTable("crash_runs")) {
          const versions = b.all(db, "SELECT version AS v FROM _replic_migrations ORDER BY version").map((r) => Number(r.v));
          versions.forEach((v, k) => expect(v, `${what} applied migrations are 1..n`).toBe(k + 1));
          // Earlier runs' migrations were checked after their own kills; only the last ones can be torn.
          const from = Math.max(1, run - 2);
          const counts = new Map(
            b.all(db, `SELECT run, count(*) AS n FROM crash_runs WHERE run >= ${from} GROUP BY run`).map((r) => [Number(r.run), Number(r.n)]),
          );
          for (let k = from; k <= run; k++) {
            const applied = versions.includes(k + 1);
            expect(counts.get(k) ?? 0, `${what} rows of migration ${k + 1} (${applied ? "applied" : "not applied"})`).toBe(applied ? ROWS_PER_MIGRATION : 0);
          }
        }
        const r = attempt("openReplica", () => b.adapter.openReplica(db, { heartbeatMs: 0 }));
        try {
          attempt("migrate", () => r.migrate(crashMigrations(run)));
          if (peer === undefined) peer = r.peerId;
          expect(r.peerId, `${what} reopened peerId`).toBe(peer);

          // Own writes: 1..n without gap, every printed one there with its row.
          const seqs = b
            .all(db, `SELECT _sequenceId AS s, id FROM crash_items_patches WHERE _peerId = ${peer} ORDER BY _sequenceId`)
            .map((row) => ({ s: Number(row.s), id: Number(row.id) }));
          const n = seqs.length;
          seqs.forEach((x, k) => {
            if (x.s !== k + 1) fail(`${what} T_patches sequence numbers are not 1..${n}: position ${k} holds ${x.s}`);
          });
          expect(n, `${what} every printed write is on disk`).toBeGreaterThanOrEqual(lastSeq + printed.length);
          const bySeq = new Map(seqs.map((x) => [x.s, x.id]));
          const rows = new Map(
            typedRows(b, db, "crash_items").map((cells) => [Number((cells[0] as { v: bigint }).v), cells.map(cellString).join(" | ")]),
          );
          for (const p of printed) {
            expect(bySeq.get(p.seq), `${what} the write of printed token ${peer}.${p.seq} is in T_patches`).toBe(p.id);
            expect(rows.get(p.id), `${what} row ${p.id} of printed token ${peer}.${p.seq}`).toBe(expectedCells(p.id, run));
          }
          expect(rows.size, `${what} rows in T vs patches`).toBe(new Set(seqs.map((x) => x.id)).size);

          // Remote messages: whole ones, at least those reported, equal to a clean replica's.
          const remote = b
            .all(db, `SELECT _sequenceId AS s FROM crash_remote_patches WHERE _peerId = ${REMOTE_PEER} ORDER BY _sequenceId`)
            .map((row) => Number(row.s));
          remote.forEach((s, k) => {
            if (s !== k + 1) fail(`${what} remote sequences are not 1..${remote.length}: position ${k} holds ${s}`);
          });
          const c = remote.length;
          expect(c % PATCHES_PER_MESSAGE, `${what} remote patches held (${c}) are whole messages`).toBe(0);
          expect(c, `${what} every reported remote message is on disk`).toBeGreaterThanOrEqual(remoteHigh);
          const origin = (r.status() as { origins: { peerId: number; contiguous: number }[] }).origins.find((o) => o.peerId === REMOTE_PEER);
          expect(origin?.contiguous ?? 0, `${what} remote head after reopen`).toBe(c);
          while (refApplied < c / PATCHES_PER_MESSAGE) refReplica.receive(REMOTE_PEER, messages[refApplied++]!);
          expect(dumpTable(b, db, "crash_remote"), `${what} remote rows equal a clean replica's`).toBe(dumpTable(b, reference, "crash_remote"));
          remoteHigh = c;

          // The next write continues exactly after the last persisted one.
          const token = r.upsert("crash_items", crashRow(run * 1_000_000 + 999_999, run));
          expect(parseToken(token).seq, `${what} next token after ${n} persisted`).toBe(n + 1);
          lastSeq = n + 1;
        } finally {
          r.close();
        }
      } finally {
        b.closeDatabase(db);
      }
    }
    // eslint-disable-next-line no-console
    console.log(`[conformance ${b.name}] crash test (${mode}): last stage reached before each kill: ${JSON.stringify(Object.fromEntries(stages))}`);
    // The kills landed in every phase, not only between writes.
    for (const stage of ["writing", "migrating"]) expect(stages.get(stage) ?? 0, `kills after reaching "${stage}"`).toBeGreaterThan(0);
    expect((stages.get("(nothing)") ?? 0) + (stages.get("start") ?? 0) + (stages.get("opened") ?? 0) + (stages.get("replica") ?? 0), "kills during start-up and open").toBeGreaterThan(0);
    expect(remoteHigh, "remote messages were received").toBeGreaterThan(0);
  } finally {
    refReplica?.close();
    sourceReplica?.close();
    b.closeDatabase(source);
    b.closeDatabase(reference);
    rmSync(dir, { recursive: true, force: true });
  }
}
