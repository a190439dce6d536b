/**
 * The kit of the fault-injection tests (faults.ts, core-bugs.ts): a replica "A" on a driver that
 * can be told to fail its Nth statement, holding rows of its own and of a peer "B"; B's messages;
 * the write paths; snapshots of everything that must not change when a write fails; and the
 * check that the replica is still usable afterwards.
 */
import { expect } from "vitest";
import { fail } from "./fail.js";
import { Harness, ITEMS_DDL, type Migrations } from "./harness.js";
import type { ConformanceBinding, DriverLike, ReplicaLike, StatementLike } from "./types.js";
import { capture, dumpDatabase, dumpTable, FakeClock, SINK } from "./util.js";

export const A = 10;
export const B = 20;
const OBSERVER = 30;
const T0 = 1_700_000_000_000;

/** A's schema: items plus a table whose T has a CHECK and a UNIQUE constraint (T_patches has none). */
const GUARDED_DDL =
  `CREATE TABLE guarded (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty IS NULL OR qty >= 0), code TEXT UNIQUE);\n` +
  `CREATE TABLE guarded_patches (id INTEGER, qty INTEGER, code TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`;
export const SCHEMA: Migrations = [
  { up: ITEMS_DDL, down: `DROP TABLE items_patches; DROP TABLE items;` },
  { up: GUARDED_DDL, down: `DROP TABLE guarded_patches; DROP TABLE guarded;` },
];
/** B's schema: the same columns without the constraints, so B can write what A refuses. */
const LOOSE_SCHEMA: Migrations = [
  SCHEMA[0]!,
  {
    up:
      `CREATE TABLE guarded (id INTEGER PRIMARY KEY, qty INTEGER, code TEXT);\n` +
      `CREATE TABLE guarded_patches (id INTEGER, qty INTEGER, code TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE guarded_patches; DROP TABLE guarded;`,
  },
];
export const EXTRA: Migrations = [
  {
    up:
      `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);\n` +
      `CREATE TABLE notes_patches (id TEXT, body TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);\n` +
      `CREATE TABLE local_log (n INTEGER CHECK (n > 0)); INSERT INTO local_log VALUES (1);`,
    down: `DROP TABLE local_log; DROP TABLE notes_patches; DROP TABLE notes;`,
  },
];
const USER_TABLES = ["items", "guarded"];

class InjectedFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InjectedFault";
  }
}

/**
 * Wraps the adapter's driver: once armed, the Nth call (prepare, exec, run, get, all) throws
 * instead of running. With `spareRollback`, ROLLBACK statements are never failed (a failing
 * ROLLBACK is the separate case of core-bugs.ts).
 */
export class FaultyDriver implements DriverLike {
  private armedAt = 0;
  private count = 0;
  fired = false;
  constructor(
    private readonly inner: DriverLike,
    private readonly spareRollback = true,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  arm(n: number): void {
    this.armedAt = n;
    this.count = 0;
    this.fired = false;
  }
  disarm(): void {
    this.armedAt = 0;
  }
  private step(what: string): void {
    if (this.armedAt > 0 && ++this.count === this.armedAt) {
      this.fired = true;
      throw new InjectedFault(`injected fault at statement ${this.count}: ${what.slice(0, 80)}`);
    }
  }
  exec(sql: string): void {
    this.step(sql);
    this.inner.exec(sql);
  }
  prepare(sql: string): StatementLike {
    this.step(`prepare ${sql}`);
    const s = this.inner.prepare(sql);
    if (this.spareRollback && /^\s*ROLLBACK\b/i.test(sql)) return s;
    return {
      run: (p) => (this.step(sql), s.run(p)),
      get: (p) => (this.step(sql), s.get(p)),
      all: (p) => (this.step(sql), s.all(p)),
    };
  }
  release(): void {
    this.inner.release?.();
  }
}

/** Whether `e` is the injected fault, was caused by it, or names it (errors that wrap a message). */
function causedByFault(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof InjectedFault || /injected fault at statement/.test(String((x as Error).message))) return true;
  }
  return false;
}

export interface World<Db> {
  db: Db;
  r: ReplicaLike;
  driver: FaultyDriver;
  clock: FakeClock;
  /** Everything A sent on its capturing link. */
  sent: Uint8Array[];
}

/** B's messages, the same bytes for every world (fixed clock). */
export interface Messages {
  first: Uint8Array[];
  /** A transaction of five patches: partial rows, an explicit NULL, a new row, a guarded row. */
  second: Uint8Array;
  /** `second` with its first patch repeated at the end (receive falls back to one patch at a time). */
  repeated: Uint8Array;
  /** Two guarded patches, the second violating A's CHECK. */
  violatesCheck: Uint8Array;
  /** Two guarded patches with the same code: the second violates A's UNIQUE. */
  violatesUnique: Uint8Array;
  /** Forty patches with 4 KiB blobs (for the full-database case). */
  big: Uint8Array;
}

export type Op = "upsert" | "upsertMany" | "transaction" | "receive" | "receive (repeated patch)" | "migrate" | "gc";
export const OPS: Op[] = ["upsert", "upsertMany", "transaction", "receive", "receive (repeated patch)", "migrate", "gc"];

export interface SnapshotOptions {
  /** Compare the replica's own head too (see core-bugs.ts). */
  ownHead?: boolean;
  /** Compare the heads of other origins. */
  heads?: boolean;
}

export type FaultKit<Db> = ReturnType<typeof faultKit<Db>>;

export function faultKit<Db>(b: ConformanceBinding<Db>, h: Harness<Db>) {
  function messages(): Messages {
    const clock = new FakeClock(T0 - 5_000);
    const s = h.open(LOOSE_SCHEMA, { peerId: B, now: clock.now });
    const out = capture(s.r, SINK);
    s.r.transaction(() => {
      for (const id of [1, 2, 3]) s.r.upsert("items", { id, qty: id, name: `b${id}`, data: new Uint8Array([id]) });
      s.r.upsert("guarded", { id: 1, qty: 1, code: "b1" });
    });
    const first = out.splice(0);
    clock.t += 1_000;
    s.r.transaction(() => {
      s.r.upsert("items", { id: 2, price: 2.5 });
      s.r.upsert("items", { id: 4, name: "four", deletedAt: null });
      s.r.upsert("guarded", { id: 2, qty: 7, code: "b2" });
      s.r.upsert("items", { id: 1, deletedAt: 99 });
      s.r.upsert("items", { id: 3, name: null });
    });
    const second = out.pop()!;
    const wire = b.adapter.decodeWire(second) as { patches: unknown[] };
    const repeated = b.adapter.encodeWire({ ...wire, patches: [...wire.patches, wire.patches[0]] });
    // The next ones are never delivered before: each starts right after `second` in B's sequence.
    const one = (fn: () => void): Uint8Array => {
      s.r.transaction(fn);
      return out.pop()!;
    };
    const violatesCheck = one(() => {
      s.r.upsert("guarded", { id: 3, qty: 5, code: "b3" });
      s.r.upsert("guarded", { id: 4, qty: -1, code: "b4" });
    });
    const violatesUnique = one(() => {
      s.r.upsert("guarded", { id: 5, code: "same" });
      s.r.upsert("guarded", { id: 6, code: "same" });
    });
    const big = one(() => {
      s.r.upsertMany(
        "items",
        Array.from({ length: 40 }, (_, k) => ({ id: 1000 + k, data: new Uint8Array(4096).fill(k) })),
      );
    });
    return { first, second, repeated, violatesCheck, violatesUnique, big };
  }

  /** A on a faulty driver, with rows of its own and of B, explicit NULLs, heads of both origins. */
  function world(msgs: Messages, retentionMs = 0, spareRollback = true): World<Db> {
    const db = h.db();
    const driver = new FaultyDriver(b.adapter.createDriver(db), spareRollback);
    const clock = new FakeClock(T0);
    const r = b.adapter.createReplica(driver, { peerId: A, heartbeatMs: 0, now: clock.now, retentionMs });
    h.adopt(r);
    r.migrate(SCHEMA);
    const sent = capture(r, SINK);
    r.addPeer(B, () => {});
    for (const m of msgs.first) r.receive(B, m);
    r.upsert("items", { id: 10, qty: 10, name: "a10", deletedAt: null });
    r.transaction(() => {
      r.upsert("guarded", { id: 10, qty: 0, code: "a10" });
      r.upsert("items", { id: 11, price: -0.5, data: new Uint8Array([1, 2]) });
    });
    clock.t += 10;
    return { db, r, driver, clock, sent };
  }

  /** The write under test, on world `w`. */
  function run(w: World<Db>, op: Op, msgs: Messages): void {
    switch (op) {
      case "upsert":
        w.r.upsert("items", { id: 20, qty: 20, name: "new", deletedAt: null });
        return;
      case "upsertMany":
        w.r.upsertMany("items", [
          { id: 21, qty: 1, name: null },
          { id: 10, price: 1.25 },
          { id: 22, data: new Uint8Array([9]) },
        ]);
        return;
      case "transaction":
        w.r.transaction(() => {
          w.r.upsert("items", { id: 23, name: "tx" });
          w.r.upsert("guarded", { id: 23, qty: 3, code: "a23" });
          w.r.upsertMany("items", [{ id: 24, qty: 4 }, { id: 10, deletedAt: null }]);
          w.r.upsert("items", { id: 11, qty: 11 });
        });
        return;
      case "receive":
        w.r.receive(B, msgs.second);
        return;
      case "receive (repeated patch)":
        w.r.receive(B, msgs.repeated);
        return;
      case "migrate":
        w.r.migrate([...SCHEMA, ...EXTRA]);
        return;
      case "gc":
        w.r.gc();
        return;
    }
  }

  /**
   * What must not change when a write fails: every table, the schema, heads and sequence.
   * The replica's own head is left out unless `opts.ownHead`: after a failed receive or gc the
   * core reloads heads from _replic_peers, which does not hold its own origin (a core bug that
   * core-bugs.ts checks when REPLIC_CORE_BUGS=1).
   */
  function snapshot(w: World<Db>, opts: SnapshotOptions = {}): { tables: Record<string, string>; state: string } {
    const s = w.r.status() as { sequence: number; origins: { peerId: number }[]; staleOrigins: number[]; tables: string[] };
    const origins = s.origins
      .filter((o) => (o.peerId === A ? opts.ownHead === true : opts.heads !== false))
      .sort((x, y) => x.peerId - y.peerId);
    return { tables: dumpDatabase(b, w.db), state: JSON.stringify({ sequence: s.sequence, origins, stale: s.staleOrigins, tables: [...s.tables].sort() }) };
  }

  function expectUnchanged(w: World<Db>, before: ReturnType<typeof snapshot>, what: string, opts: SnapshotOptions = {}): void {
    const after = snapshot(w, opts);
    const changed = [...new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])].filter((k) => before.tables[k] !== after.tables[k]);
    if (changed.length > 0) {
      const k = changed[0]!;
      fail(`${what}: the failed write changed ${changed.join(", ")}\nbefore:\n${before.tables[k]}\nafter:\n${after.tables[k]}`);
    }
    expect(after.state, `${what}: heads and sequence after the failed write`).toBe(before.state);
  }

  /**
   * The replica is usable: a new write gets the next sequence number, own sequences in T_patches
   * are 1..n, and an observer fed everything A sent holds A's tables.
   */
  function expectUsable(w: World<Db>, what: string): void {
    const seqs = USER_TABLES.flatMap((t) => b.all(w.db, `SELECT _sequenceId AS s FROM ${t}_patches WHERE _peerId = ${A}`).map((r) => Number(r.s))).sort((x, y) => x - y);
    const gcFloor = seqs.length > 0 ? seqs[0]! : 1;
    seqs.forEach((s, k) => expect(s, `${what}: own sequence numbers without gap`).toBe(gcFloor + k));
    const status = w.r.status() as { sequence: number };
    const token = w.r.upsert("items", { id: 500, name: "after" });
    expect(token, `${what}: the next write's token`).toBe(`${A}.${status.sequence + 1}`);
    const observer = h.open([...SCHEMA, ...EXTRA], { peerId: OBSERVER, now: w.clock.now });
    observer.r.addPeer(A, () => {});
    for (const m of w.sent) observer.r.receive(A, m);
    for (const t of USER_TABLES) expect(dumpTable(b, observer.db, t), `${what}: an observer of A's messages holds A's ${t}`).toBe(dumpTable(b, w.db, t));
  }


  /**
   * Fails statement 1, 2, 3, ... of the write until it gets through; after each failure checks
   * that nothing changed. Returns how many statements were failed.
   */
  function sweep(w: World<Db>, op: Op, msgs: Messages, opts: SnapshotOptions = {}): number {
    let n = 1;
    for (; n < 500; n++) {
      const before = snapshot(w, opts);
      w.driver.arm(n);
      let error: unknown;
      try {
        run(w, op, msgs);
      } catch (e) {
        error = e;
      }
      const fired = w.driver.fired;
      w.driver.disarm();
      if (error === undefined) break; // the write got through: N is past its last statement
      const what = `[${b.name}] ${op} with statement ${n} failing`;
      if (!fired || !causedByFault(error)) fail(`${what}: threw something else than the injected fault: ${String(error)}`);
      expectUnchanged(w, before, what, opts);
    }
    expect(n, `${op} reached at least two statements`).toBeGreaterThan(2);
    expect(n, `${op} completed once the faults stopped`).toBeLessThan(500);
    return n - 1;
  }

  return { messages, world, run, snapshot, expectUnchanged, expectUsable, sweep };
}
