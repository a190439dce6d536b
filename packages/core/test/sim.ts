/**
 * Deterministic, seeded network simulator (DESIGN section 6): several peers on file databases,
 * random writes everywhere, a network that drops, duplicates, reorders, delays and partitions,
 * skewed clocks and crash-restarts. After healing, every replica must hold the same table, equal
 * to the model of DESIGN section 3. A failing run names its seed: REPLIC_SIM_SEED=<n> replays it.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReplica, type Replica, type SqlValue } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { modelTable, type ModelPatch } from "./model.js";

/** The test table; `inlineNulls` adds the optional `_nulls` column (else the side table is used). */
export function itemsDdl(inlineNulls: boolean): string {
  return `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, deletedAt INTEGER);
CREATE TABLE items_patches (id INTEGER, name TEXT, qty INTEGER, price REAL, deletedAt INTEGER,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL,${inlineNulls ? " _nulls TEXT," : ""}
  PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`;
}
export const ITEMS_DDL = itemsDdl(false);
const COLUMNS = ["id", "name", "qty", "price", "deletedAt"];
const EXTRAS_COLUMNS = ["id", "v"];

/**
 * Schema versions for mixed-version runs: v1 lacks `price`, v2 adds it, v3 adds the `extras`
 * table. Each `down` is stored by the database and run when a peer rolls back.
 */
export function versionedMigrations(inlineNulls: boolean): { up: string; down: string }[] {
  return [
    { up: itemsDdl(inlineNulls).replace(/ price REAL,/g, ""), down: "DROP TABLE items_patches; DROP TABLE items;" },
    {
      up: "ALTER TABLE items ADD COLUMN price REAL; ALTER TABLE items_patches ADD COLUMN price REAL;",
      down: "ALTER TABLE items_patches DROP COLUMN price; ALTER TABLE items DROP COLUMN price;",
    },
    {
      up: `CREATE TABLE extras (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE extras_patches (id INTEGER, v TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`,
      down: "DROP TABLE extras_patches; DROP TABLE extras;",
    },
  ];
}

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

interface Peer {
  index: number;
  id: number;
  file: string;
  skew: number;
  db: Database.Database | undefined;
  replica: Replica | undefined;
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
  peers?: number;
  topology?: Topology;
  writeMs?: number;
  loss?: number;
  duplication?: number;
  crashes?: boolean;
  maxSkewMs?: number;
  /** Peers start on random schema versions and migrate (forward and back) at random times. */
  schemas?: boolean;
}

export function simulate(o: SimOptions) {
  const r = rng(o.seed);
  const n = o.peers ?? 3 + r.int(5);
  const topology = o.topology ?? r.pick(["mesh", "hub", "line", "hybrid"] as const);
  const loss = o.loss ?? 0.3;
  const duplication = o.duplication ?? 0.1;
  const maxSkew = o.maxSkewMs ?? 10 * 60_000;
  const dir = mkdtempSync(join(tmpdir(), "replic-sim-"));
  let now = 1_760_000_000_000;
  const heartbeatMs = 100;
  const ids = new Set<number>();
  while (ids.size < n) ids.add(1 + r.int(0xfffffffe));
  const peers: Peer[] = [...ids].map((id, index) => ({
    index,
    id,
    file: join(dir, `peer-${index}.db`),
    skew: Math.round((r.next() * 2 - 1) * maxSkew),
    db: undefined,
    replica: undefined,
    downUntil: 0,
    version: o.schemas ? 1 + r.int(3) : 1,
  }));
  const versions = o.schemas ? versionedMigrations(o.seed % 2 === 0) : undefined;
  const links = edges(n, topology, r);
  const neighbours = peers.map((p) => links.flatMap(([a, b]) => (a === p.index ? [b] : b === p.index ? [a] : [])));
  // A partition cuts a random set of links for a while, then heals.
  let partitioned = new Set<string>();
  let partitionUntil = 0;
  let healed = false;
  let flight: InFlight[] = [];
  let order = 0;
  const patches: ModelPatch[] = [];
  const extras: ModelPatch[] = [];
  let migrations = 0;

  const send = (from: number, to: number, bytes: Uint8Array) => {
    if (!healed) {
      if (partitioned.has(`${from}-${to}`) || partitioned.has(`${to}-${from}`)) return;
      if (r.chance(loss)) return;
    }
    flight.push({ at: now + 1 + r.int(healed ? 20 : 80), order: order++, from, to, bytes });
    if (!healed && r.chance(duplication)) flight.push({ at: now + 1 + r.int(150), order: order++, from, to, bytes });
  };

  const open = (p: Peer) => {
    p.db = new Database(p.file);
    p.db.pragma("journal_mode = WAL");
    p.db.pragma("synchronous = OFF");
    p.replica = createReplica(testDriver(p.db), {
      peerId: p.id,
      heartbeatMs: 0,
      now: () => now + p.skew,
      requestTimeoutMs: 250,
      maxBatchPatches: 50, // small batches exercise windowed catch-up
      maxInflightPatches: 200,
    });
    // Odd seeds keep explicit NULLs in the side table, even seeds in T_patches._nulls.
    if (versions) p.replica.migrate(versions.slice(0, p.version));
    else p.replica.migrate([{ up: itemsDdl(o.seed % 2 === 0), down: "DROP TABLE items_patches; DROP TABLE items;" }]);
    for (const q of neighbours[p.index]!) p.replica.addPeer(peers[q]!.id, (bytes) => send(p.index, q, bytes));
  };
  const crash = (p: Peer) => {
    p.replica!.close();
    p.db!.close();
    p.replica = undefined;
    p.db = undefined;
  };
  peers.forEach(open);

  const write = (p: Peer) => {
    const rep = p.replica!;
    const one = () => {
      if (p.version >= 3 && r.chance(0.3)) {
        const row: Record<string, SqlValue> = { id: r.int(4), v: r.chance(0.2) ? null : r.pick(["x", "y", "z"]) };
        written.push({ seq: Number(rep.upsert("extras", row).split(".")[1]), row, table: "extras" });
        return;
      }
      const row: Record<string, SqlValue> = { id: r.int(6) };
      for (const c of COLUMNS.slice(1)) {
        if (!r.chance(0.5) || (c === "price" && p.version < 2)) continue;
        if (r.chance(0.2)) row[c] = null;
        else if (c === "name") row[c] = r.pick(["a", "b", "ç", "日本", ""]);
        else if (c === "price") row[c] = r.int(1000) / 8;
        else row[c] = r.int(100) - 20;
      }
      const token = rep.upsert("items", row);
      written.push({ seq: Number(token.split(".")[1]), row, table: "items" });
    };
    // Patch rows are written at commit: read their timestamps for the model afterwards.
    const written: Array<{ seq: number; row: Record<string, SqlValue>; table: string }> = [];
    if (r.chance(0.3)) rep.transaction(() => Array.from({ length: 1 + r.int(5) }, one));
    else one();
    for (const { seq, row, table } of written) {
      const ts = p.db!.prepare(`SELECT _patchedAt FROM ${table}_patches WHERE _peerId = ? AND _sequenceId = ?`).pluck().get(p.id, seq) as number;
      (table === "extras" ? extras : patches).push({ peerId: p.id, seq, patchedAt: ts, values: row });
    }
  };

  const deliver = () => {
    const due = flight.filter((m) => m.at <= now).sort((a, b) => a.at - b.at || a.order - b.order);
    flight = flight.filter((m) => m.at > now);
    for (const m of due) {
      const target = peers[m.to]!;
      if (!target.replica) continue; // down: lost
      target.replica.receive(peers[m.from]!.id, m.bytes);
    }
  };

  const step = (ms: number) => {
    now += ms;
    deliver();
    if (now % heartbeatMs < ms) for (const p of peers) p.replica?.tick();
  };

  const writeMs = o.writeMs ?? 3000;
  const end = now + writeMs;
  while (now < end) {
    for (const p of peers) {
      if (!p.replica && now >= p.downUntil) open(p);
      if (p.replica && r.chance(0.08)) write(p);
      if (p.replica && versions && r.chance(0.004)) {
        // Forward or back (a rollback runs the stored downs), while everyone keeps writing.
        p.version = 1 + r.int(3);
        p.replica.migrate(versions.slice(0, p.version));
        migrations++;
      }
      if (p.replica && (o.crashes ?? true) && r.chance(0.002)) {
        crash(p);
        p.downUntil = now + 50 + r.int(400);
      }
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

  // Heal: everyone up, no loss, no partitions; bounded number of anti-entropy rounds.
  healed = true;
  partitioned = new Set();
  // Clocks catch up: a patch stamped beyond a receiver's drift bound is held until then.
  now += 2 * maxSkew;
  for (const p of peers) if (!p.replica) open(p);
  if (versions) for (const p of peers) p.replica!.migrate(versions.slice(0, (p.version = 3)));
  const dump = (p: Peer) =>
    JSON.stringify(p.db!.prepare(`SELECT ${COLUMNS.join(", ")} FROM items ORDER BY id`).raw(true).all()) +
    (versions ? JSON.stringify(p.db!.prepare("SELECT id, v FROM extras ORDER BY id").raw(true).all()) : "");
  let rounds = 0;
  const converged = () => peers.every((p) => dump(p) === dump(peers[0]!));
  while (rounds < 400 && (!converged() || flight.length > 0)) {
    step(25);
    rounds++;
  }
  const expected =
    JSON.stringify(modelTable(patches, "id", COLUMNS).map((row) => COLUMNS.map((c) => row[c]))) +
    (versions ? JSON.stringify(modelTable(extras, "id", EXTRAS_COLUMNS).map((row) => EXTRAS_COLUMNS.map((c) => row[c]))) : "");
  const dumps = peers.map(dump);
  const status = peers.map((p) => p.replica!.status());
  for (const p of peers) crash(p);
  rmSync(dir, { recursive: true, force: true });
  return { n, topology, rounds, dumps, expected, writes: patches.length + extras.length, status, migrations };
}

