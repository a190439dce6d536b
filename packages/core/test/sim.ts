/**
 * Deterministic, seeded network simulator (README, "Testing"): several peers on file databases,
 * random writes everywhere, a network that drops, duplicates, reorders, delays and partitions,
 * skewed clocks and crash-restarts. A crash fails a peer's database between two statements (the
 * statement that would run next throws, the handle is abandoned without commit and closed, which
 * discards the open transaction) and the peer comes back later from its file. After healing,
 * every replica must hold the same rows in every replicated table and the same patches, equal to
 * the model of the merge rule (README, "Merge rule"), and report the same heads. Runs on any binding (`SimBinding`).
 * A failing run names its seed: REPLIC_SIM_SEED=<n> replays it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelTable, type ModelPatch, type SqlValue } from "./model.js";

/** The slice of the core's SqliteDriver the simulator uses and wraps. */
export interface SimStatement {
  run(params: readonly SqlValue[]): number;
  get(params: readonly SqlValue[]): SqlValue[] | undefined;
  all(params: readonly SqlValue[]): SqlValue[][];
}
export interface SimDriver {
  readonly name: string;
  exec(sql: string): void;
  prepare(sql: string): SimStatement;
  release?(): void;
}
/** The slice of a Replica the simulator drives. */
export interface SimReplica {
  upsert(table: string, row: Record<string, unknown>): string;
  transaction<T>(fn: () => T): T;
  migrate(m: { up: string; down: string }[]): void;
  addPeer(peerId: number, send: (bytes: Uint8Array) => void): void;
  receive(from: number, bytes: Uint8Array): void;
  tick(): void;
  status(): { origins: { peerId: number; contiguous: number; highest: number; missing: number }[] };
  on(event: "divergence", listener: (e: { table: string; kind: string; keys: unknown[] }) => void): () => void;
}
/** A SQLite binding for the simulator: opens a database file (in its recommended journal mode). */
export interface SimBinding {
  name: string;
  open(file: string): { driver: SimDriver; close(): void };
  createReplica(driver: SimDriver, options: Record<string, unknown>): SimReplica;
  /** A fresh temporary directory and its removal. */
  tempDir(): { path: string; remove(): void };
}

/** A fresh temporary directory under the OS's, named `prefix…`, and its removal. */
export function simTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A binding whose crash closes the handle after finalizing the replica's statements
 * (`driver.release`), as a dying process would free them, so the open transaction is rolled back
 * now (bun:sqlite and node-sqlite3-wasm close lazily while statements live).
 */
export function releasingBinding(
  name: string,
  prefix: string,
  open: (file: string) => { driver: SimDriver; db: { close(): void } },
  createReplica: SimBinding["createReplica"],
): SimBinding {
  return {
    name,
    open(file) {
      const { driver, db } = open(file);
      return {
        driver,
        close: () => {
          driver.release?.();
          db.close();
        },
      };
    },
    createReplica,
    tempDir: () => simTempDir(prefix),
  };
}

/**
 * The test table; `inlineNulls` adds the optional `_nulls` column (else the side table is used).
 * `layout`: "by-row" is what patchesDdl printed before 2026-11-26 (clustered by row, unique
 * sequence index), "by-origin" what it prints now (clustered by origin and sequence, row index).
 */
export function itemsDdl(inlineNulls: boolean, layout: "by-row" | "by-origin" = "by-row"): string {
  const columns = `CREATE TABLE items_patches (id INTEGER, name TEXT, qty INTEGER, price REAL, deletedAt INTEGER,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL,${inlineNulls ? " _nulls TEXT," : ""}`;
  const patches =
    layout === "by-row"
      ? `${columns}
  PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`
      : `${columns}
  PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID;
CREATE INDEX items_patches_row ON items_patches (id, _patchedAt, _peerId, _sequenceId);`;
  return `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, deletedAt INTEGER);
${patches}`;
}
/** Both layouts and both places for explicit NULLs, by seed. */
export function seededItemsDdl(seed: number): string {
  return itemsDdl(seed % 2 === 0, Math.floor(seed / 2) % 2 === 0 ? "by-origin" : "by-row");
}
export const ITEMS_DDL = itemsDdl(false);
/** A second replicated table, with a text key and a blob, in the plain (no-index) layout. */
const TAGS_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT, weight REAL, icon BLOB);
CREATE TABLE tags_patches (tag TEXT, color TEXT, weight REAL, icon BLOB, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`;

/**
 * Schema versions for mixed-version runs: v1 is `items` without `price`, v2 adds `price`, v3 adds
 * the `tags` table. Each `down` is stored by the database and run when a peer rolls back.
 */
function simVersions(seed: number): { up: string; down: string }[] {
  return [
    { up: seededItemsDdl(seed).replace(/ price REAL,/g, ""), down: "DROP TABLE items_patches; DROP TABLE items;" },
    {
      up: "ALTER TABLE items ADD COLUMN price REAL; ALTER TABLE items_patches ADD COLUMN price REAL;",
      down: "ALTER TABLE items_patches DROP COLUMN price; ALTER TABLE items DROP COLUMN price;",
    },
    { up: TAGS_DDL, down: "DROP TABLE tags_patches; DROP TABLE tags;" },
  ];
}

const TABLES = {
  items: { pk: "id", columns: ["id", "name", "qty", "price", "deletedAt"] },
  tags: { pk: "tag", columns: ["tag", "color", "weight", "icon"] },
} as const;
type TableName = keyof typeof TABLES;

export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick: <T,>(a: readonly T[]) => a[Math.floor(next() * a.length)]!,
  };
}

type Topology = "mesh" | "hub" | "line" | "hybrid";

function edges(n: number, topology: Topology, r: ReturnType<typeof rng>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (topology === "mesh") for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out.push([i, j]);
  if (topology === "hub") for (let i = 1; i < n; i++) out.push([0, i]);
  if (topology === "line") for (let i = 1; i < n; i++) out.push([i - 1, i]);
  if (topology === "hybrid") {
    // Two hubs joined together, spokes split between them, plus one extra spoke-to-spoke edge.
    out.push([0, 1]);
    for (let i = 2; i < n; i++) out.push([i % 2, i]);
    if (n > 3) out.push([2, 3 + r.int(n - 3)]);
  }
  return out;
}

/** Thrown by a crashing driver: the peer "died" between two statements. */
export class SimCrash extends Error {
  constructor() {
    super("simulated crash");
  }
}

/**
 * A driver that dies: once `crashIn` statements have run it throws SimCrash instead of running
 * the next one, and every call after that throws too (the process is gone).
 */
export class CrashingDriver implements SimDriver {
  crashIn = 0; // 0 = no crash scheduled
  dead = false;
  constructor(private readonly inner: SimDriver) {}
  get name(): string {
    return this.inner.name;
  }
  private step(): void {
    if (this.dead) throw new SimCrash();
    if (this.crashIn > 0 && --this.crashIn === 0) {
      this.dead = true;
      throw new SimCrash();
    }
  }
  exec(sql: string): void {
    this.step();
    this.inner.exec(sql);
  }
  prepare(sql: string): SimStatement {
    this.step();
    const s = this.inner.prepare(sql);
    return {
      run: (p) => (this.step(), s.run(p)),
      get: (p) => (this.step(), s.get(p)),
      all: (p) => (this.step(), s.all(p)),
    };
  }
  release(): void {
    this.inner.release?.();
  }
}

interface Peer {
  index: number;
  id: number;
  file: string;
  skew: number;
  db: { driver: SimDriver; close(): void } | undefined;
  driver: CrashingDriver | undefined;
  replica: SimReplica | undefined;
  downUntil: number;
  /** Migrations applied (mixed-version runs). */
  version: number;
}

interface InFlight {
  at: number;
  order: number;
  from: number;
  to: number;
  bytes: Uint8Array;
}

export interface SimOptions {
  seed: number;
  binding: SimBinding;
  peers?: number;
  topology?: Topology;
  writeMs?: number;
  loss?: number;
  duplication?: number;
  crashes?: boolean;
  maxSkewMs?: number;
  /** Peers start on random schema versions and migrate (forward and back) at random times. */
  schemas?: boolean;
  /** Replica options on top of the simulator's own (e.g. fullHeartbeatEvery). */
  replicaOptions?: Record<string, unknown>;
}

/** Exact text of a value (bigint, blob and float distinguished). */
function cell(v: SqlValue): string {
  if (v === null) return "null";
  if (typeof v === "bigint") return `i:${v}`;
  if (typeof v === "number") return Number.isInteger(v) ? `i:${v}` : `r:${v}`;
  if (typeof v === "string") return `t:${JSON.stringify(v)}`;
  return `b:${Array.from(v, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

export function simulate(o: SimOptions) {
  const r = rng(o.seed);
  const n = o.peers ?? 3 + r.int(5);
  const topology = o.topology ?? r.pick(["mesh", "hub", "line", "hybrid"] as const);
  const loss = o.loss ?? 0.3;
  const duplication = o.duplication ?? 0.1;
  // Every fourth seed runs all clocks in step, so concurrent writes tie on timestamps and the
  // peer id decides (with skewed clocks they almost never tie).
  const maxSkew = o.maxSkewMs ?? (o.seed % 4 === 0 ? 0 : 10 * 60_000);
  const tmp = o.binding.tempDir();
  let now = 1_760_000_000_000;
  const heartbeatMs = 100;
  const ids = new Set<number>();
  while (ids.size < n) ids.add(1 + r.int(0xfffffffe));
  const peers: Peer[] = [...ids].map((id, index) => ({
    index,
    id,
    file: `${tmp.path}/peer-${index}.db`,
    skew: Math.round((r.next() * 2 - 1) * maxSkew),
    db: undefined,
    driver: undefined,
    replica: undefined,
    downUntil: 0,
    version: o.schemas ? 1 + r.int(3) : 3,
  }));
  const versions = o.schemas ? simVersions(o.seed) : undefined;
  let migrations = 0;
  const links = edges(n, topology, r);
  const neighbours = peers.map((p) => links.flatMap(([a, b]) => (a === p.index ? [b] : b === p.index ? [a] : [])));
  // A partition cuts a random set of links for a while, then heals.
  let partitioned = new Set<string>();
  let partitionUntil = 0;
  let healed = false;
  let flight: InFlight[] = [];
  let order = 0;
  let crashes = 0;
  const patches: Record<TableName, ModelPatch[]> = { items: [], tags: [] };

  const send = (from: number, to: number, bytes: Uint8Array) => {
    if (!healed) {
      if (partitioned.has(`${from}-${to}`) || partitioned.has(`${to}-${from}`)) return;
      if (r.chance(loss)) return;
    }
    flight.push({ at: now + 1 + r.int(healed ? 20 : 80), order: order++, from, to, bytes });
    if (!healed && r.chance(duplication)) flight.push({ at: now + 1 + r.int(150), order: order++, from, to, bytes });
  };

  const divergences: string[] = [];
  const open = (p: Peer) => {
    p.db = o.binding.open(p.file);
    p.driver = new CrashingDriver(p.db.driver);
    p.replica = o.binding.createReplica(p.driver, {
      peerId: p.id,
      heartbeatMs: 0,
      now: () => now + p.skew,
      requestTimeoutMs: 250,
      maxBatchPatches: 50, // small batches exercise windowed catch-up
      maxInflightPatches: 200,
      ...o.replicaOptions,
    });
    // Odd seeds keep explicit NULLs in the side table, even seeds in T_patches._nulls.
    p.replica.migrate(
      versions
        ? versions.slice(0, p.version)
        : [
            { up: seededItemsDdl(o.seed), down: "DROP TABLE items_patches; DROP TABLE items;" },
            { up: TAGS_DDL, down: "DROP TABLE tags_patches; DROP TABLE tags;" },
          ],
    );
    for (const q of neighbours[p.index]!) p.replica.addPeer(peers[q]!.id, (bytes) => send(p.index, q, bytes));
    // Every write goes through replic: the scrub of each round must never find a row differing from its patches.
    p.replica.on("divergence", (e) => divergences.push(`peer ${p.id}: ${e.kind} ${e.table} ${JSON.stringify(e.keys)}`));
  };
  /** The peer dies: no replica.close(), the handle is closed with its transaction uncommitted. */
  const die = (p: Peer) => {
    p.db!.close();
    p.db = p.driver = p.replica = undefined;
    p.downUntil = now + 50 + r.int(400);
    crashes++;
  };
  /** Runs a call on a peer; a SimCrash takes the peer down. Returns whether the call completed. */
  const onPeer = (p: Peer, fn: (rep: SimReplica) => void): boolean => {
    try {
      fn(p.replica!);
      return true;
    } catch (e) {
      // The core may wrap the failure (e.g. a ReplicError with the crash as its cause).
      if (!p.driver!.dead) throw e;
      die(p);
      return false;
    }
  };
  peers.forEach(open);

  const value = (table: TableName, c: string): SqlValue => {
    if (r.chance(0.2)) return null;
    if (table === "items") {
      if (c === "name") return r.pick(["a", "b", "ç", "日本", ""]);
      if (c === "price") return r.int(1000) / 8;
      return r.int(100) - 20;
    }
    if (c === "color") return r.pick(["red", "green", ""]);
    if (c === "weight") return r.int(50) / 4;
    return new Uint8Array([r.int(256), r.int(256)]);
  };

  const write = (p: Peer) => {
    // Recorded only once the write (or its transaction) returned: a crash before that loses it.
    const written: Array<{ table: TableName; seq: number; row: Record<string, SqlValue> }> = [];
    const one = (rep: SimReplica, acc: typeof written) => {
      // A peer writes only what its schema version has: `price` from v2, `tags` from v3.
      const table: TableName = r.chance(0.7) || p.version < 3 ? "items" : "tags";
      const spec = TABLES[table];
      const row: Record<string, SqlValue> = { [spec.pk]: table === "items" ? r.int(6) : r.pick(["x", "y", "z", "ü"]) };
      for (const c of spec.columns.slice(1)) if (r.chance(0.5) && !(c === "price" && p.version < 2)) row[c] = value(table, c);
      const token = rep.upsert(table, row);
      acc.push({ table, seq: Number(token.split(".")[1]), row });
    };
    const ok = onPeer(p, (rep) => {
      const acc: typeof written = [];
      if (r.chance(0.3)) rep.transaction(() => Array.from({ length: 1 + r.int(5) }, () => one(rep, acc)));
      else one(rep, acc);
      written.push(...acc);
    });
    if (!ok) return;
    // Patch rows are written at commit: read their timestamps for the model afterwards.
    for (const { table, seq, row } of written) {
      const ts = Number(p.db!.driver.prepare(`SELECT _patchedAt FROM ${table}_patches WHERE _peerId = ? AND _sequenceId = ?`).get([p.id, seq])![0]);
      patches[table].push({ peerId: p.id, seq, patchedAt: ts, values: row });
    }
  };

  const deliver = () => {
    const due = flight.filter((m) => m.at <= now).sort((a, b) => a.at - b.at || a.order - b.order);
    flight = flight.filter((m) => m.at > now);
    for (const m of due) {
      const target = peers[m.to]!;
      if (!target.replica) continue; // down: lost
      onPeer(target, (rep) => rep.receive(peers[m.from]!.id, m.bytes));
    }
  };

  const step = (ms: number) => {
    now += ms;
    deliver();
    if (now % heartbeatMs < ms) for (const p of peers) if (p.replica) onPeer(p, (rep) => rep.tick());
  };

  const writeMs = o.writeMs ?? 3000;
  const end = now + writeMs;
  while (now < end) {
    for (const p of peers) {
      if (!p.replica && now >= p.downUntil) open(p);
      if (p.replica && r.chance(0.08)) write(p);
      if (p.replica && versions && r.chance(0.004)) {
        // Forward or back (a rollback runs the stored downs), while everyone keeps writing.
        const version = 1 + r.int(3);
        if (onPeer(p, (rep) => rep.migrate(versions.slice(0, version)))) {
          p.version = version;
          migrations++;
        }
      }
      // A crash lands a few statements later, wherever the peer is then: a write, a receive, a tick.
      if (p.driver && !p.driver.crashIn && (o.crashes ?? true) && r.chance(0.003)) p.driver.crashIn = 1 + r.int(40);
    }
    if (now >= partitionUntil) {
      partitioned = new Set();
      if (r.chance(0.01)) {
        for (const [a, b] of links) if (r.chance(0.5)) partitioned.add(`${a}-${b}`);
        partitionUntil = now + 100 + r.int(800);
      }
    }
    step(5);
  }

  // Heal: everyone up, no crashes, no loss, no partitions; bounded number of anti-entropy rounds.
  healed = true;
  partitioned = new Set();
  // Clocks catch up: a patch stamped beyond a receiver's drift bound is held until then.
  now += 2 * maxSkew;
  for (const p of peers) {
    if (p.driver) p.driver.crashIn = 0;
    if (!p.replica) open(p);
  }
  // Everyone reaches the last version: kept values of unknown columns and tables merge now.
  if (versions) for (const p of peers) p.replica!.migrate(versions.slice(0, (p.version = 3)));
  const dumpOf = (p: Peer, sql: string) =>
    p.db!.driver.prepare(sql).all([]).map((row) => row.map(cell).join("|")).join("\n");
  const dump = (p: Peer) =>
    (Object.keys(TABLES) as TableName[]).map((t) => `${t}\n${dumpOf(p, `SELECT ${TABLES[t].columns.join(", ")} FROM ${t} ORDER BY ${TABLES[t].pk}`)}`).join("\n");
  const patchDump = (p: Peer) =>
    (Object.keys(TABLES) as TableName[])
      .map((t) => dumpOf(p, `SELECT ${TABLES[t].columns.join(", ")}, _patchedAt, _sequenceId, _peerId FROM ${t}_patches ORDER BY _peerId, _sequenceId`))
      .join("\n");
  // Converged: the same rows and the same patches everywhere (a patch that changes no row must
  // arrive too), and nothing in flight.
  const state = (p: Peer) => `${dump(p)}\n${patchDump(p)}`;
  let rounds = 0;
  const converged = () => peers.every((p) => state(p) === state(peers[0]!));
  while (rounds < 400 && (!converged() || flight.length > 0)) {
    step(25);
    rounds++;
  }
  const expected = (Object.keys(TABLES) as TableName[])
    .map((t) => `${t}\n${modelTable(patches[t], TABLES[t].pk, [...TABLES[t].columns]).map((row) => TABLES[t].columns.map((c) => cell(row[c]!)).join("|")).join("\n")}`)
    .join("\n");
  const dumps = peers.map(dump);
  // Every peer holds every patch (nothing is old enough to be collected).
  const patchDumps = peers.map(patchDump);
  const heads = peers.map((p) =>
    JSON.stringify(
      p.replica!
        .status()
        .origins.filter((x) => x.highest > 0)
        .map((x) => [x.peerId, x.contiguous, x.highest, x.missing])
        .sort((a, b) => a[0]! - b[0]!),
    ),
  );
  // The model's heads: per origin, its writes that committed are sequences 1..count.
  const counts = new Map<number, number>();
  for (const t of Object.keys(TABLES) as TableName[]) for (const p of patches[t]) counts.set(p.peerId, Math.max(counts.get(p.peerId) ?? 0, p.seq));
  const expectedHeads = JSON.stringify([...counts.entries()].sort((a, b) => a[0] - b[0]).map(([id, c]) => [id, c, c, 0]));
  const writes = patches.items.length + patches.tags.length;
  const statuses = peers.map((p) => p.replica!.status() as { alienPatches?: unknown[] });
  for (const p of peers) p.db!.close();
  tmp.remove();
  return { n, topology, rounds, dumps, expected, patchDumps, heads, expectedHeads, writes, crashes, migrations, statuses, divergences };
}
