/**
 * Plays the conformance suite's canonical history (conformance/src/canonical.ts) on any binding,
 * the same way `playCanonicalHistory` does: three origins on one injected clock, each write at
 * its scripted second; then a fresh target merges every message, shuffled with duplicates. Runs
 * unchanged in the browser (oo1 on sqlite-wasm) and in Node (better-sqlite3), so the two dumps and
 * the two streams of wire bytes can be compared byte for byte.
 */
import { CANONICAL_MIGRATIONS, CANONICAL_PEERS, CANONICAL_T0, CANONICAL_TABLES, canonicalHistory } from "../../../../conformance/src/canonical";
import { dumpTable, FakeClock, hex, prng, shuffledWithDuplicates, SINK } from "../../../../conformance/src/util";
import type { ConformanceBinding } from "../../../../conformance/src/types";

export interface ReplicaSurface {
  readonly peerId: number;
  migrate(m: { up: string; down: string }[]): void;
  upsert(table: string, row: Record<string, unknown>): string;
  transaction<T>(fn: () => T): T;
  addPeer(peerId: number, send: (m: Uint8Array) => void): void;
  receive(from: number, m: Uint8Array): void;
  close(): void;
}

export interface CanonicalBinding<Db> {
  open(options: { peerId: number; now: () => number; heartbeatMs: number }): { db: Db; replica: ReplicaSurface };
  all(db: Db, sql: string): Record<string, unknown>[];
}

export interface CanonicalResult {
  /** Tables of the target that merged every message out of order. */
  targetDump: string;
  /** Tables of each origin after merging the others' messages. */
  originDumps: string[];
  /** Every message in send order: "<from>:<hex>". */
  wire: string[];
  tokens: string[];
}

function dumpAll<Db>(b: CanonicalBinding<Db>, db: Db): string {
  const binding = { all: b.all } as unknown as ConformanceBinding<Db>;
  return Object.keys(CANONICAL_TABLES)
    .map((t) => dumpTable(binding, db, t))
    .join("\n");
}

export function runCanonical<Db>(b: CanonicalBinding<Db>): CanonicalResult {
  const clock = new FakeClock(CANONICAL_T0);
  const origins = CANONICAL_PEERS.map((peerId) => {
    const o = b.open({ peerId, now: clock.now, heartbeatMs: 0 });
    o.replica.migrate(CANONICAL_MIGRATIONS);
    return o;
  });
  const sent = origins.map((o) => {
    const out: Uint8Array[] = [];
    o.replica.addPeer(SINK, (m) => void out.push(new Uint8Array(m)));
    return out;
  });
  const tokens: string[] = [];
  for (const step of canonicalHistory()) {
    clock.t = step.at;
    const r = origins[step.origin]!.replica;
    const write = () => step.writes.map((w) => r.upsert(w.table, w.row));
    tokens.push(...(step.tx ? r.transaction(write) : write()));
  }
  const messages: { from: number; bytes: Uint8Array }[] = [];
  sent.forEach((list, i) => list.forEach((bytes) => messages.push({ from: CANONICAL_PEERS[i]!, bytes })));

  clock.t = CANONICAL_T0 + 3_600_000;
  const rand = prng(99);
  const target = b.open({ peerId: 1234, now: clock.now, heartbeatMs: 0 });
  target.replica.migrate(CANONICAL_MIGRATIONS);
  for (const p of CANONICAL_PEERS) target.replica.addPeer(p, () => {});
  for (const m of shuffledWithDuplicates(rand, messages)) target.replica.receive(m.from, m.bytes);
  const targetDump = dumpAll(b, target.db);

  const originDumps = origins.map((o, i) => {
    for (const m of shuffledWithDuplicates(rand, messages)) if (m.from !== CANONICAL_PEERS[i]) o.replica.receive(m.from, m.bytes);
    return dumpAll(b, o.db);
  });
  for (const o of [...origins, target]) o.replica.close();
  return { targetDump, originDumps, wire: messages.map((m) => `${m.from}:${hex(m.bytes)}`), tokens };
}
