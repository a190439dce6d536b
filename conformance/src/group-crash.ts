/**
 * Crash safety of group patches: a transaction (one group, one stamp, any tables) becomes visible
 * all at once or not at all, across SIGKILLs. A child process (group-crash-child.mjs, on the
 * adapter's built dist, under the binding's runtime) receives or writes; the parent kills it at a
 * moment it picks, reopens the file the way an application does (openReplica; for WASM through
 * the binding's openDatabase, which runs the adapter's recovery first) and checks:
 *
 * 1. half received: the receiver got some of the 7 messages of a 20-patch transaction over two
 *    tables (sent with maxBatchPatches 3) and was killed. No row of the group is visible, the
 *    parts acknowledged wait in status().incompleteGroups, and the rest (fed by hand, or fetched
 *    by gap repair from the sender) makes all 20 rows visible at once.
 * 2. streaming: messages of several such transactions stream in and the kill lands at a random
 *    moment, often inside the receive that completes a group. Every group is whole or absent,
 *    the parts waiting are those of the one group in progress, and repair completes them all.
 * 3. local transactions: a writer commits one order and its lines per transaction in a loop.
 *    Every transaction it reported is wholly there, none is half there, no sequence is used
 *    twice, and a second replica catching up from the file (served with maxBatchPatches 3, so a
 *    transaction spans messages) sees whole transactions only.
 *
 * After every single receive the suite checks that each epoch's rows (an order and its lines
 * carry the epoch of the transaction that wrote them) are all visible or none, and at the end of
 * each run that the honest replicas hold equal tables.
 *
 * REPLIC_CRASH_KILLS: kills per binding over the three scenarios (split between journal modes;
 * default 50); REPLIC_CRASH_SEED replays a run (each test prints it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CRASH_CHILD_PATH, type JournalMode } from "./crash.js";
import { fail } from "./fail.js";
import { GROUP_MIGRATIONS, GROUP_SENDER, LINES_PER_ORDER, ORDERS_PER_GROUP, WRITER_LINES, writeGroup } from "./group-crash-shared.mjs";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { dumpTable, envInt, parseToken, prng, randInt, SINK } from "./util.js";

/** Absolute path of the group crash child script (plain ESM, runs under node and bun). */
export const GROUP_CRASH_CHILD_PATH = fileURLToPath(new URL("./group-crash-child.mjs", import.meta.url));

/** Messages of one 20-patch transaction sent with maxBatchPatches 3. */
const MESSAGES_PER_GROUP = 7;
const SENDER_BATCH = 3;
/** Transactions the sender writes per streaming run. */
const STREAM_GROUPS = 3;

/** Starts the group child the way the binding starts the crash child (same runtime, driver and dist). */
function groupChild<Db>(b: ConformanceBinding<Db>, dbPath: string, mode: JournalMode, role: "receive" | "write", run: number, what: string): Child {
  const [script, ...rest] = b.childCommand.args;
  if (script !== CRASH_CHILD_PATH) fail(`conformance: ${b.name} childCommand does not start the crash child (${script}); build it with crashChildCommand()`);
  return new Child(b.childCommand.cmd, [GROUP_CRASH_CHILD_PATH, ...rest, dbPath, mode, role, String(run)], what);
}

/** A child process whose complete output lines can be awaited, and which the parent kills. */
export class Child {
  private out = "";
  private err = "";
  private killed = false;
  private exit: Error | undefined;
  private readonly proc: ChildProcess;
  private readonly closed: Promise<void>;
  private wake: () => void = () => {};

  constructor(
    cmd: string,
    args: string[],
    private readonly what: string,
  ) {
    this.proc = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdin!.on("error", () => {}); // writes racing the kill
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stderr!.setEncoding("utf8");
    this.proc.stdout!.on("data", (c: string) => {
      this.out += c;
      this.wake();
    });
    this.proc.stderr!.on("data", (c: string) => {
      this.err += c;
    });
    this.closed = new Promise((resolve) => {
      this.proc.on("error", (e) => {
        this.exit = e;
        this.wake();
        resolve();
      });
      this.proc.on("close", (code, signal) => {
        if (!this.killed) this.exit = new Error(`${this.what} group crash child exited by itself (code ${code}, signal ${signal}); stderr:\n${this.err}\nstdout tail:\n${this.out.slice(-1500)}`);
        this.wake();
        resolve();
      });
    });
  }

  /** The complete lines printed so far. */
  lines(): string[] {
    return this.out.slice(0, this.out.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
  }

  /** Resolves once the printed lines pass `test`. */
  async until(test: (lines: string[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!test(this.lines())) {
      if (this.exit) throw this.exit;
      if (Date.now() > deadline) throw new Error(`${this.what} group crash child: no "${what}" in 30 s; stderr:\n${this.err}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Sends a message, prefixed by its length. */
  send(m: Uint8Array): void {
    const frame = Buffer.alloc(4 + m.length);
    frame.writeUInt32LE(m.length, 0);
    frame.set(m, 4);
    this.proc.stdin!.write(frame);
  }

  /** SIGKILL, after `delayMs` (0: now); resolves once the process is gone. */
  async kill(delayMs = 0): Promise<void> {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (this.exit) throw this.exit;
    this.killed = true;
    this.proc.kill("SIGKILL");
    await this.closed;
  }
}

interface IncompleteStatus {
  count: number;
  patches: number;
  oldestAgeMs: number;
}

function incompleteOf(r: ReplicaLike): IncompleteStatus {
  return (r.status() as { incompleteGroups: IncompleteStatus }).incompleteGroups;
}

function metric(r: ReplicaLike, name: string): number {
  let sum = 0;
  for (const line of r.metrics().split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/**
 * The epochs whose rows are visible, each checked whole: `orders` orders with `lines` lines
 * each, every line's order of the same epoch. Fails naming the epoch shown in part.
 */
function visibleEpochs<Db>(b: ConformanceBinding<Db>, db: Db, orders: number, lines: number, what: string): number[] {
  const o = new Map(b.all(db, "SELECT epoch AS e, count(*) AS n FROM gk_orders GROUP BY epoch").map((r) => [Number(r.e), Number(r.n)]));
  const l = new Map(b.all(db, "SELECT epoch AS e, count(*) AS n FROM gk_lines GROUP BY epoch").map((r) => [Number(r.e), Number(r.n)]));
  const torn = b.all(db, "SELECT count(*) AS n FROM gk_lines l LEFT JOIN gk_orders o ON o.id = l.order_id WHERE o.epoch IS NOT l.epoch");
  const epochs = [...new Set([...o.keys(), ...l.keys()])].sort((x, y) => x - y);
  for (const e of epochs) {
    if ((o.get(e) ?? 0) !== orders || (l.get(e) ?? 0) !== orders * lines) {
      fail(`${what} transaction of epoch ${e} is visible in part: ${o.get(e) ?? 0} of ${orders} orders, ${l.get(e) ?? 0} of ${orders * lines} lines`);
    }
  }
  if (Number(torn[0]!.n) !== 0) fail(`${what} ${torn[0]!.n} lines show another epoch than their order`);
  return epochs;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Runs heartbeat rounds between `a` and `b` until `done()` (at most 40 rounds), calling `check` after every receive by `a`. */
export function repair(a: ReplicaLike, other: ReplicaLike, done: () => boolean, check: () => void, what: string): void {
  const queue: { to: ReplicaLike; from: number; m: Uint8Array }[] = [];
  a.addPeer(other.peerId, (m) => queue.push({ to: other, from: a.peerId, m: new Uint8Array(m) }));
  other.addPeer(a.peerId, (m) => queue.push({ to: a, from: other.peerId, m: new Uint8Array(m) }));
  try {
    for (let round = 0; round < 40 && !done(); round++) {
      a.tick();
      other.tick();
      for (let n = 0; queue.length > 0 && n < 100_000; n++) {
        const x = queue.shift()!;
        x.to.receive(x.from, x.m);
        if (x.to === a) check();
      }
    }
    if (!done()) fail(`${what} gap repair did not complete in 40 rounds`);
  } finally {
    a.removePeer(other.peerId);
    other.removePeer(a.peerId);
  }
}

interface Rig<Db> {
  b: ConformanceBinding<Db>;
  mode: JournalMode;
  dir: string;
  rand: () => number;
  seed: number;
}

/** The sending origin: in memory, small batches, its messages captured (patches only). */
function openSender<Db>(b: ConformanceBinding<Db>): { db: Db; r: ReplicaLike; sent: Uint8Array[] } {
  const db = b.openDatabase(":memory:");
  const r = b.adapter.openReplica(db, { peerId: GROUP_SENDER, heartbeatMs: 0, maxBatchPatches: SENDER_BATCH });
  r.migrate(GROUP_MIGRATIONS);
  const sent: Uint8Array[] = [];
  r.addPeer(SINK, (m) => {
    if ((b.adapter.decodeWire(m) as { kind: string }).kind === "patches") sent.push(new Uint8Array(m));
  });
  return { db, r, sent };
}

/** Patches in each message. */
function partsOf<Db>(b: ConformanceBinding<Db>, messages: Uint8Array[]): number[] {
  return messages.map((m) => (b.adapter.decodeWire(m) as { patches: unknown[] }).patches.length);
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/** Opens the file as an application does after a crash, runs `fn`, closes. */
function reopened<Db, T>(rig: Rig<Db>, dbPath: string, options: Record<string, number>, what: string, fn: (db: Db, r: ReplicaLike) => T): T {
  let db: Db;
  let r: ReplicaLike;
  try {
    db = rig.b.openDatabase(dbPath);
  } catch (e) {
    throw new Error(`${what} opening the database after the kill failed: ${String(e)}`, { cause: e });
  }
  try {
    try {
      r = rig.b.adapter.openReplica(db, { heartbeatMs: 0, ...options });
      r.migrate(GROUP_MIGRATIONS);
    } catch (e) {
      throw new Error(`${what} openReplica after the kill failed: ${String(e)}`, { cause: e });
    }
    try {
      return fn(db, r);
    } finally {
      r.close();
    }
  } finally {
    rig.b.closeDatabase(db);
  }
}

/** Scenario 1: killed with a group half received; nothing of it visible; the rest completes it. */
async function halfReceived<Db>(rig: Rig<Db>, kills: number): Promise<void> {
  const { b, mode, rand } = rig;
  const dbPath = join(rig.dir, `half-${mode}.db`);
  const sender = openSender(b);
  try {
    for (let run = 1; run <= kills; run++) {
      sender.sent.length = 0;
      writeGroup(sender.r, range(1, ORDERS_PER_GROUP), LINES_PER_ORDER, run, run % 2 === 0);
      const messages = sender.sent.splice(0);
      const parts = partsOf(b, messages);
      const what = `[${b.name} ${mode} REPLIC_CRASH_SEED=${rig.seed} half-received run ${run}]`;
      expect(messages.length, `${what} messages of one 20-patch transaction at maxBatchPatches ${SENDER_BATCH}`).toBe(MESSAGES_PER_GROUP);
      // Acknowledged messages before the kill, and whether one more is on its way when it lands.
      const inFlight = rand() < 0.5;
      const acks = randInt(rand, 1, MESSAGES_PER_GROUP - (inFlight ? 2 : 1));
      const child = groupChild(b, dbPath, mode, "receive", run, what);
      await child.until((l) => l.includes("ready"), "ready");
      for (let i = 0; i < acks; i++) {
        child.send(messages[i]!);
        await child.until((l) => l.includes(`ack ${i + 1}`), `ack ${i + 1}`);
      }
      if (inFlight) child.send(messages[acks]!);
      await child.kill(inFlight ? randInt(rand, 0, 2) : 0);
      const acked = child.lines().filter((l) => l.startsWith("ack ")).length;
      const sentCount = acks + (inFlight ? 1 : 0);

      reopened(rig, dbPath, {}, what, (db, r) => {
        const before = run === 1 ? [] : [run - 1];
        expect(visibleEpochs(b, db, ORDERS_PER_GROUP, LINES_PER_ORDER, what), `${what} after restart only the previous transaction is visible`).toEqual(before);
        const inc = incompleteOf(r);
        // Applied: every acknowledged message, perhaps the one in flight (each one whole).
        const applied = range(acked, sentCount).find((a) => sum(parts.slice(0, a)) === inc.patches);
        if (applied === undefined) {
          fail(`${what} ${inc.patches} parts wait after ${acked} acknowledged messages (${sum(parts.slice(0, acked))} parts) of ${sentCount} sent`);
        }
        expect(inc.count, `${what} groups waiting`).toBe(1);
        expect(metric(r, "replic_incomplete_group_patches"), `${what} parts waiting (gauge, read back at open)`).toBe(inc.patches);
        // The rest: by hand from some message on (repeating parts held), or fetched by gap repair.
        const check = (done: boolean) => {
          expect(visibleEpochs(b, db, ORDERS_PER_GROUP, LINES_PER_ORDER, what), `${what} visible after a receive`).toEqual(done ? [run] : before);
        };
        if (run % 2 === 1) {
          for (let i = randInt(rand, 0, applied); i < MESSAGES_PER_GROUP; i++) {
            r.receive(GROUP_SENDER, messages[i]!);
            check(i === MESSAGES_PER_GROUP - 1);
          }
          // Parts stored before the kill are duplicates now; only the later ones were parked.
          expect(metric(r, "replic_incomplete_parked_total"), `${what} parts parked by this process`).toBe(sum(parts.slice(applied, MESSAGES_PER_GROUP - 1)));
        } else {
          repair(r, sender.r, () => incompleteOf(r).count === 0, () => check(incompleteOf(r).count === 0), what);
          check(true);
        }
        expect(incompleteOf(r), `${what} nothing waits once complete`).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
        expect(metric(r, "replic_groups_completed_total"), `${what} groups completed by this process`).toBe(1);
        expect(metric(r, "replic_incomplete_group_patches"), `${what} parts waiting (gauge) once complete`).toBe(0);
        for (const t of ["gk_orders", "gk_lines"]) expect(dumpTable(b, db, t), `${what} ${t} equals the sender's`).toBe(dumpTable(b, sender.db, t));
      });
    }
  } finally {
    sender.r.close();
    b.closeDatabase(sender.db);
  }
}

/** Scenario 2: killed at random moments while groups stream in; each whole or absent; repair completes them. */
async function streaming<Db>(rig: Rig<Db>, kills: number): Promise<void> {
  const { b, mode, rand } = rig;
  const dbPath = join(rig.dir, `stream-${mode}.db`);
  const sender = openSender(b);
  let complete = 0; // groups the receiver holds whole
  let written = 0; // groups the sender wrote
  // Where the kills landed: restarts that found parts waiting, and ones that found a message
  // applied whose receive had not returned yet (the kill fell inside or just after it).
  let waiting = 0;
  let unacknowledged = 0;
  try {
    for (let run = 1; run <= kills; run++) {
      sender.sent.length = 0;
      for (let g = 0; g < STREAM_GROUPS; g++) {
        const epoch = ++written;
        writeGroup(sender.r, range(epoch * ORDERS_PER_GROUP, epoch * ORDERS_PER_GROUP + ORDERS_PER_GROUP - 1), LINES_PER_ORDER, epoch, epoch % 3 === 0);
      }
      const messages = sender.sent.splice(0);
      const parts = partsOf(b, messages);
      const what = `[${b.name} ${mode} REPLIC_CRASH_SEED=${rig.seed} streaming run ${run}]`;
      expect(messages.length, `${what} messages of ${STREAM_GROUPS} transactions`).toBe(STREAM_GROUPS * MESSAGES_PER_GROUP);
      const killAfter = randInt(rand, 0, messages.length - 1);
      const delay = rand() < 0.4 ? 0 : randInt(rand, 1, 4);
      const child = groupChild(b, dbPath, mode, "receive", run, what);
      await child.until((l) => l.includes("ready"), "ready");
      for (const m of messages) child.send(m);
      if (killAfter > 0) await child.until((l) => l.filter((x) => x.startsWith("ack ")).length >= killAfter, `ack ${killAfter}`);
      await child.kill(delay);
      const acked = child.lines().filter((l) => l.startsWith("ack ")).length;

      reopened(rig, dbPath, {}, what, (db, r) => {
        const epochs = visibleEpochs(b, db, ORDERS_PER_GROUP, LINES_PER_ORDER, what);
        const inc = incompleteOf(r);
        // Messages apply in order and whole: `a` of them, a >= acked, give `complete + floor(a / 7)`
        // whole groups and the parts of the next one waiting.
        const base = written - STREAM_GROUPS;
        const applied = range(acked, messages.length).find((a) => {
          const whole = Math.floor(a / MESSAGES_PER_GROUP);
          const rest = a % MESSAGES_PER_GROUP;
          return epochs.length === base + whole && inc.patches === sum(parts.slice(whole * MESSAGES_PER_GROUP, whole * MESSAGES_PER_GROUP + rest));
        });
        if (applied === undefined) {
          fail(`${what} after ${acked} acknowledged messages: ${epochs.length} transactions visible (${base} before this run), ${inc.patches} parts waiting`);
        }
        expect(epochs, `${what} the visible transactions are the first ones, in order`).toEqual(range(1, epochs.length));
        expect(inc.count, `${what} groups waiting`).toBe(applied % MESSAGES_PER_GROUP === 0 ? 0 : 1);
        complete = epochs.length;
        if (inc.count > 0) waiting++;
        if (applied > acked) unacknowledged++;
        const check = () => {
          const now = visibleEpochs(b, db, ORDERS_PER_GROUP, LINES_PER_ORDER, what);
          expect(now, `${what} visible transactions after a receive`).toEqual(range(1, now.length));
          if (now.length < complete) fail(`${what} a transaction disappeared`);
          complete = now.length;
        };
        if (run % 2 === 1) {
          for (let i = applied; i < messages.length; i++) {
            r.receive(GROUP_SENDER, messages[i]!);
            check();
          }
        } else repair(r, sender.r, () => complete === written && incompleteOf(r).count === 0, check, what);
        expect(complete, `${what} every transaction visible after repair`).toBe(written);
        expect(incompleteOf(r), `${what} nothing waits once complete`).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
        for (const t of ["gk_orders", "gk_lines"]) expect(dumpTable(b, db, t), `${what} ${t} equals the sender's`).toBe(dumpTable(b, sender.db, t));
      });
    }
    // eslint-disable-next-line no-console
    console.log(`[conformance ${b.name}] group crash test (${mode}, streaming): ${kills} kills; parts waiting at ${waiting} restarts, a message applied but not acknowledged at ${unacknowledged}`);
  } finally {
    sender.r.close();
    b.closeDatabase(sender.db);
  }
}

/** Scenario 3: killed while local transactions commit; each reported one whole; a follower sees whole ones only. */
async function localTransactions<Db>(rig: Rig<Db>, kills: number): Promise<void> {
  const { b, mode, rand } = rig;
  const dbPath = join(rig.dir, `write-${mode}.db`);
  const followerDb = b.openDatabase(":memory:");
  const follower = b.adapter.openReplica(followerDb, { peerId: 5, heartbeatMs: 0 });
  follower.migrate(GROUP_MIGRATIONS);
  const size = 1 + WRITER_LINES;
  let peer: number | undefined;
  let lastSeq = 0; // the highest own sequence handed out so far
  try {
    for (let run = 1; run <= kills; run++) {
      const what = `[${b.name} ${mode} REPLIC_CRASH_SEED=${rig.seed} local-transactions run ${run}]`;
      const lines = randInt(rand, 1, 60);
      const delay = rand() < 0.5 ? 0 : randInt(rand, 1, 4);
      const child = groupChild(b, dbPath, mode, "write", run, what);
      await child.until((l) => l.length >= lines, `${lines} lines`);
      await child.kill(delay);
      const out = child.lines();
      const header = out.find((l) => l.startsWith("peer "));
      if (header) {
        if (peer === undefined) peer = Number(header.slice(5));
        expect(Number(header.slice(5)), `${what} peerId persisted across restarts`).toBe(peer);
      }
      const reported: { id: number; seqs: number[] }[] = [];
      for (const l of out.filter((x) => x.startsWith("tx "))) {
        const [, id, ...tokens] = l.split(" ");
        const seqs = tokens.map((t) => {
          const p = parseToken(t);
          expect(p.peerId, `${what} token ${t}`).toBe(peer);
          return p.seq;
        });
        expect(seqs, `${what} transaction ${id}: its sequences continue after ${lastSeq}`).toEqual(range(lastSeq + 1, lastSeq + size));
        lastSeq += size;
        reported.push({ id: Number(id), seqs });
      }

      reopened(rig, dbPath, { maxBatchPatches: SENDER_BATCH }, what, (db, r) => {
        if (peer === undefined) peer = r.peerId;
        expect(r.peerId, `${what} reopened peerId`).toBe(peer);
        const seqs = b
          .all(db, `SELECT _sequenceId AS s FROM gk_orders_patches WHERE _peerId = ${peer} UNION ALL SELECT _sequenceId FROM gk_lines_patches WHERE _peerId = ${peer} ORDER BY 1`)
          .map((x) => Number(x.s));
        seqs.forEach((s, k) => {
          if (s !== k + 1) fail(`${what} own sequences are not 1..${seqs.length}: position ${k} holds ${s}`);
        });
        const n = seqs.length;
        expect(n % size, `${what} own patches (${n}) are whole transactions`).toBe(0);
        expect(n, `${what} every reported transaction is on disk`).toBeGreaterThanOrEqual(lastSeq);
        const epochs = visibleEpochs(b, db, 1, WRITER_LINES, what);
        expect(epochs.length, `${what} transactions visible`).toBe(n / size);
        const visible = new Set(epochs);
        for (const t of reported) if (!visible.has(t.id)) fail(`${what} reported transaction ${t.id} (${peer}.${t.seqs[0]}-${t.seqs[size - 1]}) is not visible`);
        // The next transaction continues above every sequence ever handed out.
        const tokens = writeGroup(r, [run * 1_000_000], WRITER_LINES, run * 1_000_000, run % 2 === 0);
        expect(tokens.map((t) => parseToken(t).seq), `${what} next transaction after ${n} persisted`).toEqual(range(n + 1, n + size));
        lastSeq = n + size;
        // A follower catches up from the file, served in messages of 3 patches: whole transactions only.
        let seen = 0;
        repair(
          follower,
          r,
          () => seen === lastSeq / size,
          () => {
            seen = visibleEpochs(b, followerDb, 1, WRITER_LINES, `${what} follower:`).length;
          },
          what,
        );
        for (const t of ["gk_orders", "gk_lines"]) expect(dumpTable(b, followerDb, t), `${what} follower's ${t} equals the writer's`).toBe(dumpTable(b, db, t));
        expect(incompleteOf(follower).count, `${what} nothing waits at the follower`).toBe(0);
      });
    }
  } finally {
    follower.close();
    b.closeDatabase(followerDb);
  }
}

export function groupCrashSuite<Db>(b: ConformanceBinding<Db>): void {
  const modes: JournalMode[] = b.journalModes ?? ["wal", "delete"];
  const total = envInt("REPLIC_CRASH_KILLS", 50);
  const seed = envInt("REPLIC_CRASH_SEED", Math.floor(Math.random() * 2 ** 31));
  const perMode = Math.max(3, Math.ceil(total / modes.length));
  const half = Math.max(1, Math.round(perMode * 0.3));
  const stream = Math.max(1, Math.round(perMode * 0.4));
  const local = Math.max(1, perMode - half - stream);
  const scenarios: [string, number, (rig: Rig<Db>, kills: number) => Promise<void>][] = [
    [`${half} SIGKILLs with a transaction half received: none of its rows visible, its parts wait, the rest completes it at once`, half, halfReceived],
    [`${stream} SIGKILLs at random moments while transactions stream in: each whole or absent, repair completes them`, stream, streaming],
    [`${local} SIGKILLs while local transactions commit: each reported one whole, no sequence reused, a follower sees whole ones only`, local, localTransactions],
  ];

  describe("group crash safety (kill -9)", () => {
    modes.forEach((mode, m) => {
      const label = mode === "wal" ? "WAL + synchronous=NORMAL" : "rollback journal";
      scenarios.forEach(([title, kills, scenario], s) => {
        it(
          `${label}: ${title} (REPLIC_CRASH_SEED=${seed})`,
          async () => {
            // eslint-disable-next-line no-console
            console.log(`[conformance ${b.name}] group crash test (${label}): REPLIC_CRASH_SEED=${seed} REPLIC_CRASH_KILLS=${total}`);
            const dir = mkdtempSync(join(tmpdir(), `replic-groupcrash-${b.name}-${mode}-`));
            try {
              await scenario({ b, mode, dir, rand: prng((seed + m * 1_000_003 + s * 7_919) >>> 0), seed }, kills);
            } finally {
              rmSync(dir, { recursive: true, force: true });
            }
          },
          60_000 + kills * 10_000,
        );
      });
    });
  });
}
