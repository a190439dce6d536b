/**
 * Seeded random histories (the property suite's idea, without fast-check so it runs in a page):
 * three origins on skewed clocks write random partial rows (absent, NULL and every storage class;
 * deletes and restores; single upserts and transactions) while a random share of their messages
 * reaches the others early, in any order, relayed. Then every replica and a fresh target get
 * everything, shuffled with duplicates. Each must equal the plain TypeScript model of the merge
 * rule (conformance/src/util.ts) applied to the set of patches seen on the wire.
 */
import { CANONICAL_MIGRATIONS, CANONICAL_TABLES } from "../../../../conformance/src/canonical";
import { dumpTable, FakeClock, modelDump, patchesOf, patchKey, prng, randInt, shuffledWithDuplicates, SINK, type Patch } from "../../../../conformance/src/util";
import type { ConformanceBinding } from "../../../../conformance/src/types";
import type { CanonicalBinding } from "./canonical-run";

/** The seeds every binding plays (browser and Node), so their dumps can be compared byte for byte. */
export const RANDOM_SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);

const INTS: (number | bigint)[] = [0, -1, 7, 2 ** 31, Number.MAX_SAFE_INTEGER, 2n ** 62n, -(2n ** 63n)];
const REALS = [0.5, -2.25, 1 / 3, 1e-300, 5e-324, 1.7976931348623157e308, 2 ** 60, -0];
const TEXTS = ["", "a", "héllo", "日本", "😀", "x".repeat(100)];
const BLOBS = [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([255, 0, 7])];

export interface RandomRun {
  seed: number;
  /** The target's tables (all messages, out of order). */
  dump: string;
  /** The model of the merge rule over every patch on the wire. */
  model: string;
  /** Each origin's tables after it got everything. */
  originDumps: string[];
  patches: number;
}

export function runRandom<Db>(b: CanonicalBinding<Db>, decode: (bytes: Uint8Array) => unknown, seed: number): RandomRun {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[randInt(rand, 0, xs.length - 1)]!;
  const clock = new FakeClock(1_700_000_000_000 + seed * 1000);
  const peerIds = [randInt(rand, 1, 2 ** 31), 2 ** 31 + randInt(rand, 0, 2 ** 30), 4294967295 - randInt(rand, 0, 1000)];
  const skews = peerIds.map(() => randInt(rand, -5000, 5000));
  const origins = peerIds.map((peerId, i) => {
    const o = b.open({ peerId, now: () => clock.t + skews[i]!, heartbeatMs: 0 });
    o.replica.migrate(CANONICAL_MIGRATIONS);
    return o;
  });
  // Everything each origin sends (its own writes and what it relays), in order.
  const outbox = origins.map((o) => {
    const out: Uint8Array[] = [];
    o.replica.addPeer(SINK, (m) => void out.push(new Uint8Array(m)));
    return out;
  });
  const all: { from: number; bytes: Uint8Array }[] = [];
  const delivered = origins.map(() => new Set<Uint8Array>());

  const value = <T>(gen: () => T): T | null | undefined => {
    const x = rand();
    return x < 0.4 ? undefined : x < 0.5 ? null : gen();
  };
  for (let step = 0; step < 40; step++) {
    clock.t += randInt(rand, 0, 3); // equal and close timestamps: HLC counters and peer-id ties
    const i = randInt(rand, 0, 2);
    const r = origins[i]!.replica;
    const rows: { table: string; row: Record<string, unknown> }[] = [];
    for (let w = randInt(rand, 1, 3); w > 0; w--) {
      if (rand() < 0.6) {
        const row: Record<string, unknown> = { id: `d${randInt(rand, 0, 3)}` };
        for (const [col, gen] of [["n", () => pick(INTS)], ["r", () => pick(REALS)], ["t", () => pick(TEXTS)], ["b", () => pick(BLOBS)]] as const) {
          const v = value(gen as () => unknown);
          if (v !== undefined) row[col] = v;
        }
        if (rand() < 0.15) row.deletedAt = rand() < 0.5 ? clock.t : null;
        rows.push({ table: "docs", row });
      } else {
        const row: Record<string, unknown> = { a: pick(["x", "y"]), k: randInt(rand, 0, 2) };
        const v = value(() => pick(TEXTS));
        if (v !== undefined) row.v = v;
        const w2 = value(() => pick(REALS));
        if (w2 !== undefined) row.w = w2;
        rows.push({ table: "pairs", row });
      }
    }
    if (rows.length > 1 && rand() < 0.5) r.transaction(() => rows.forEach((x) => r.upsert(x.table, x.row)));
    else rows.forEach((x) => r.upsert(x.table, x.row));
    // Some messages travel early, to a random other origin, in random order.
    for (let d = randInt(rand, 0, 2); d > 0; d--) {
      const from = randInt(rand, 0, 2);
      const to = (from + randInt(rand, 1, 2)) % 3;
      const box = outbox[from]!;
      if (box.length === 0) continue;
      const bytes = box[randInt(rand, 0, box.length - 1)]!;
      if (delivered[to]!.has(bytes)) continue;
      delivered[to]!.add(bytes);
      origins[to]!.replica.receive(peerIds[from]!, bytes);
    }
  }
  outbox.forEach((box, i) => box.forEach((bytes) => all.push({ from: peerIds[i]!, bytes })));

  const patches = new Map<string, Patch>();
  for (const m of all) for (const p of patchesOf(decode(m.bytes)).patches) patches.set(patchKey(p), p);
  const model = Object.entries(CANONICAL_TABLES)
    .map(([t, cols]) => modelDump(t, cols, patches.values()))
    .join("\n");

  const binding = { all: b.all } as unknown as ConformanceBinding<Db>;
  const dumpAll = (db: Db) =>
    Object.keys(CANONICAL_TABLES)
      .map((t) => dumpTable(binding, db, t))
      .join("\n");
  clock.t += 60_000;
  const target = b.open({ peerId: 1234, now: () => clock.t, heartbeatMs: 0 });
  target.replica.migrate(CANONICAL_MIGRATIONS);
  for (const m of shuffledWithDuplicates(rand, all)) target.replica.receive(m.from, m.bytes);
  const dump = dumpAll(target.db);
  const originDumps = origins.map((o, i) => {
    for (const m of shuffledWithDuplicates(rand, all)) if (m.from !== peerIds[i]) o.replica.receive(m.from, m.bytes);
    return dumpAll(o.db);
  });
  for (const o of [...origins, target]) o.replica.close();
  return { seed, dump, model, originDumps, patches: patches.size };
}
