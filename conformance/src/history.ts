/**
 * Random histories over several replicas and their check against the model of the merge rule
 * (README, "Merge rule"), written against `HistoryWorld`: replicas reached through promises, so
 * the same check runs on replicas in this process (property.ts, ties.ts: `localWorld`) and on
 * replicas that each live in their own Durable Object inside workerd
 * (packages/adapter-durable-object/test/fixtures/history-world.ts). No test runner is imported:
 * a failed check throws an Error naming what differed.
 */
import fc from "fast-check";
import type { SqlValue } from "./types.js";
import {
  cellOf,
  cellString,
  modelDump,
  parseToken,
  patchesOf,
  patchFingerprint,
  patchKey,
  prng,
  shuffledWithDuplicates,
  SINK,
  type ColumnSpec,
  type Patch,
} from "./util.js";

export const ABSENT = "<absent>" as const;
export type Maybe<T> = T | null | typeof ABSENT;

export interface Op {
  key: number;
  qty: Maybe<number | bigint>;
  price: Maybe<number>;
  name: Maybe<string>;
  data: Maybe<Uint8Array>;
  deletedAt: Maybe<number>;
}

export type Step =
  | { kind: "write"; origin: number; tx: boolean; ops: Op[]; /** plain SQL on the captured table instead of upsert */ sql?: boolean }
  | { kind: "deliver"; from: number; to: number; pick: boolean[] }
  | { kind: "advance"; ms: number }
  | { kind: "jump"; origin: number; ms: number }
  | { kind: "tick"; origin: number }
  | { kind: "restart"; origin: number };

export interface History {
  peerIds: number[];
  skews: number[];
  steps: Step[];
  seed: number;
}

export const COLUMNS = ["qty", "price", "name", "data", "deletedAt"] as const;
export const TARGET_IDS = [0xfffffff0, 0xfffffff1, 0xfffffff2];

function maybe<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Maybe<T>> {
  return fc.oneof(
    { arbitrary: fc.constant(ABSENT), weight: 3 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: arb, weight: 3 },
  );
}

const opArb: fc.Arbitrary<Op> = fc.record({
  key: fc.integer({ min: 0, max: 3 }),
  qty: maybe<number | bigint>(
    fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    ),
  ),
  price: maybe(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -5, max: 5 }))),
  name: maybe(fc.string({ unit: "grapheme", maxLength: 6 })),
  data: maybe(fc.uint8Array({ maxLength: 10 })),
  deletedAt: maybe(fc.integer({ min: 1, max: 2 ** 41 })),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      origin: fc.nat(3),
      tx: fc.boolean(),
      ops: fc.array(opArb, { minLength: 1, maxLength: 4 }),
      // A third of the writes: plain SQL on the captured table (where the world can write SQL).
      sql: fc.nat(2).map((x) => x === 0),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("deliver" as const),
      from: fc.nat(3),
      to: fc.nat(3),
      pick: fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 3_000 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("jump" as const), origin: fc.nat(3), ms: fc.integer({ min: -5_000, max: 5_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("tick" as const), origin: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), origin: fc.nat(3) }) },
);

export const historyArb: fc.Arbitrary<History> = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    peerIds: fc.uniqueArray(
      fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom(1, 2, 0x7fffffff, 0x80000000, 0xffffffff)).filter(
        (id) => id !== SINK && !TARGET_IDS.includes(id),
      ),
      { minLength: n, maxLength: n },
    ),
    // Often equal clocks, so that patches from different peers tie on patchedAt (peerId decides).
    skews: fc.array(
      fc.oneof(
        { arbitrary: fc.constant(0), weight: 3 },
        { arbitrary: fc.constantFrom(-1_000, 1_000), weight: 1 },
        { arbitrary: fc.integer({ min: -120_000, max: 120_000 }), weight: 2 },
      ),
      { minLength: n, maxLength: n },
    ),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 30 }),
    seed: fc.integer(),
  }),
);

function rowOf(op: Op): Record<string, unknown> {
  const row: Record<string, unknown> = { id: op.key };
  for (const c of COLUMNS) if (op[c] !== ABSENT) row[c] = op[c];
  return row;
}


const tieOp: fc.Arbitrary<Op> = fc.record({
  key: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.constant(1), weight: 1 }),
  // `name` is set by almost every write: the column all peers fight over.
  name: fc.oneof({ arbitrary: fc.string({ maxLength: 3 }), weight: 9 }, { arbitrary: fc.constant(null), weight: 1 }),
  qty: fc.oneof({ arbitrary: fc.constant(ABSENT), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 2 }, { arbitrary: fc.constant(null), weight: 1 }),
  price: fc.constant(ABSENT),
  data: fc.constant(ABSENT),
  deletedAt: fc.oneof({ arbitrary: fc.constant(ABSENT), weight: 6 }, { arbitrary: fc.constant(1), weight: 1 }, { arbitrary: fc.constant(null), weight: 1 }),
});

const tieStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      origin: fc.nat(3),
      tx: fc.boolean(),
      ops: fc.array(tieOp, { minLength: 1, maxLength: 3 }),
    }),
  },
  // Exchanges: the receiver's clock follows the sender's, so their next writes can tie.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deliver" as const), from: fc.nat(3), to: fc.nat(3), pick: fc.constant<boolean[]>([true]) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deliver" as const), from: fc.nat(3), to: fc.nat(3), pick: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }) }) },
  // After the wall clock moves on by 1 ms, every peer's next write is stamped exactly that ms.
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(0, 1, 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("jump" as const), origin: fc.nat(3), ms: fc.constantFrom(-1, 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), origin: fc.nat(3) }) },
);

const idPatterns: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([1, 2, 3, 4]),
  fc.constant<number[]>([2, 1, 4, 3]),
  fc.constant<number[]>([0xffffffff, 0xfffffffe, 1, 0]),
  fc.constant<number[]>([0x80000000, 0x7fffffff, 0x80000001, 5]),
  fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
);

export const tieHistoryArb: fc.Arbitrary<History> = fc
  .record({
    n: fc.integer({ min: 2, max: 4 }),
    ids: idPatterns.filter((ids) => ids.every((id) => id !== SINK && !TARGET_IDS.includes(id))),
    skews: fc.array(fc.constantFrom<number>(0, 0, 0, 0, 0, 1, -1), { minLength: 4, maxLength: 4 }),
    against: fc.boolean(),
    // Writes before the history, to a row of their own: the lower the id, the more of them, so
    // at a tie the sequence numbers order against the peer ids too.
    warmup: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 4, maxLength: 4 }),
    steps: fc.array(tieStep, { minLength: 6, maxLength: 40 }),
    seed: fc.integer(),
  })
  .map(({ n, ids, skews, against, warmup, steps, seed }) => {
    const peerIds = ids.slice(0, n);
    const byId = peerIds.map((id, i) => [id, i] as const).sort((x, y) => x[0] - y[0]);
    const counts = warmup.slice(0, n).sort((x, y) => y - x);
    const prefix: Step[] = [];
    byId.forEach(([, i], k) => {
      for (let c = 0; c < counts[k]!; c++) prefix.push({ kind: "write", origin: i, tx: false, ops: [{ key: 3, name: `w${c}`, qty: ABSENT, price: ABSENT, data: ABSENT, deletedAt: ABSENT }] });
    });
    prefix.push({ kind: "advance", ms: 1 });
    let s = skews.slice(0, n);
    if (against) {
      // The higher the id, the further behind its clock: id order and clock order disagree.
      const rank = peerIds.map((id, i) => [id, i] as const).sort((x, y) => x[0] - y[0]);
      const sorted = s.slice().sort((x, y) => y - x);
      s = new Array<number>(n);
      rank.forEach(([, i], k) => (s[i] = sorted[k]!));
    }
    return { peerIds, skews: s, steps: [...prefix, ...steps], seed };
  });


/** One replica of a history: an origin (its messages captured) or a target. */
export interface HistoryReplica {
  /** Upserts `rows` into items, all in one `transaction()` when `tx`; the tokens. */
  write(rows: Record<string, unknown>[], tx: boolean): Promise<string[]>;
  /**
   * Writes `ops` as plain SQL on the captured table items (one transaction when `tx`, else one
   * statement each), then `flush()`: per flush, the sequence before it and the rows it drained,
   * in drain order. Absent where the world cannot write plain SQL: such writes then upsert.
   */
  writeSql?(ops: Op[], tx: boolean): Promise<{ before: number; rows: Record<string, unknown>[] }[]>;
  receive(from: number, message: Uint8Array): Promise<void>;
  tick(): Promise<void>;
  /** Closes the replica and opens it again on the same database; the peer id it then has. */
  restart(): Promise<number>;
  /** An origin's messages to the capturing link since the last call, in order. */
  drain(): Promise<Uint8Array[]>;
  /** `dumpTable` of items. */
  dump(): Promise<string>;
  columns(): Promise<ColumnSpec[]>;
}

/** Opens replicas on fresh databases migrated with ITEMS. `now` is read at every operation. */
export interface HistoryWorld {
  /** An origin: linked to SINK (captured, `drain()`) and, silently, to every other peer id in `others`. */
  origin(peerId: number, others: number[], now: () => number, maxClockDriftMs: number): Promise<HistoryReplica>;
  /** A target: linked silently to every origin. */
  target(peerId: number, origins: number[], now: () => number, maxClockDriftMs: number): Promise<HistoryReplica>;
  /** The adapter's `decodeMessage`. */
  decode(bytes: Uint8Array): unknown;
  /** Releases every replica opened (optional; called once the history is checked). */
  close?(): Promise<void>;
}

/** Throws unless `actual` equals `expected` (strings, numbers, booleans, undefined). */
function same(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected)) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** An op as plain SQL writes it: prices are quarters (their decimal literal is exact). */
function sqlOp(op: Op): Op {
  if (typeof op.price !== "number") return op;
  const q = Number.isFinite(op.price) && Math.abs(op.price) < 1e12 ? Math.trunc(op.price * 4) / 4 : 0.5;
  return { ...op, price: q + 0 };
}

/** Wider than any skew drawn: these histories test the merge rule, not the hold of far-future patches. */
const DRIFT_BOUND = 10 * 60_000;

export async function checkHistoryIn(world: HistoryWorld, hist: History): Promise<{ crossPeerTies: number }> {
  const n = hist.peerIds.length;
  const BASE = 1_700_000_000_000;
  let t = BASE;
  const offset = hist.skews.slice();
  const origins: HistoryReplica[] = [];
  const sent: Uint8Array[][] = [];
  const drain = async (i: number) => {
    sent[i]!.push(...(await origins[i]!.drain()));
  };
  for (let i = 0; i < n; i++) {
    const idx = i;
    const others = hist.peerIds.filter((_, j) => j !== i);
    origins.push(await world.origin(hist.peerIds[i]!, others, () => t + offset[idx]!, DRIFT_BOUND));
    sent.push([]);
  }

  // 1. Play the history, recording what each upsert was given and returned.
  const written: { origin: number; token: string; row: Record<string, unknown> }[] = [];
  for (const step of hist.steps) {
    switch (step.kind) {
      case "write": {
        const i = step.origin % n;
        const sqlWriter = origins[i]!.writeSql;
        if (step.sql && sqlWriter) {
          for (const { before, rows } of await sqlWriter.call(origins[i], step.ops.map(sqlOp), step.tx)) {
            rows.forEach((row, k) => written.push({ origin: i, token: `${hist.peerIds[i]}.${before + k + 1}`, row }));
          }
          break;
        }
        const rows = step.ops.map(rowOf);
        const tokens = await origins[i]!.write(rows, step.tx);
        rows.forEach((row, k) => written.push({ origin: i, token: tokens[k]!, row }));
        break;
      }
      case "deliver": {
        const from = step.from % n;
        const to = step.to % n;
        if (from === to) break;
        await drain(from);
        const picked = sent[from]!.filter((_, k) => step.pick[k % step.pick.length]);
        for (const m of picked) await origins[to]!.receive(hist.peerIds[from]!, m);
        break;
      }
      case "advance":
        t += step.ms;
        break;
      case "jump":
        offset[step.origin % n]! += step.ms;
        break;
      case "tick":
        await origins[step.origin % n]!.tick();
        break;
      case "restart": {
        // Close the replica and open a new one on the same database (peerId from the database).
        const i = step.origin % n;
        await drain(i);
        same(await origins[i]!.restart(), hist.peerIds[i], "peerId after restart");
        break;
      }
    }
  }
  for (let i = 0; i < n; i++) await drain(i);

  // 2. Tokens: "<peerId>.<seq>", consecutive from 1 on each origin.
  const nextSeq = new Array<number>(n).fill(1);
  for (const w of written) {
    const tok = parseToken(w.token);
    same(tok.peerId, hist.peerIds[w.origin], `token ${w.token} peer`);
    same(tok.seq, nextSeq[w.origin]!, `token ${w.token} seq`);
    nextSeq[w.origin]!++;
  }

  // 3. Every message decodes; patches with the same (peerId, seq) agree; each write is there as given.
  const cols = await origins[0]!.columns();
  const all = new Map<string, Patch>();
  const messages: { from: number; m: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    for (const m of sent[i]!) {
      messages.push({ from: hist.peerIds[i]!, m });
      for (const p of patchesOf(world.decode(m)).patches) {
        const k = patchKey(p);
        const prev = all.get(k);
        if (prev) same(patchFingerprint(p, cols), patchFingerprint(prev, cols), `duplicate patch ${k} differs`);
        else all.set(k, p);
      }
    }
  }
  const affinity = new Map(cols.map((c) => [c.name, c.affinity] as const));
  const normalize = (values: Record<string, unknown>) =>
    Object.keys(values)
      .sort()
      .map((k) => `${k}=${cellString(cellOf(affinity.get(k)!, values[k] as SqlValue))}`)
      .join("|");
  for (const w of written) {
    const p = all.get(w.token);
    must(p !== undefined, `the write of token ${w.token} was never sent`);
    same(p!.table, "items", `patch ${w.token} table`);
    same(normalize(p!.values), normalize(w.row), `patch ${w.token} values`);
  }
  same(all.size, written.length, "patches on the wire that no upsert returned a token for");
  // The clock never goes backwards on an origin.
  for (let i = 0; i < n; i++) {
    const mine = [...all.values()].filter((p) => p.peerId === hist.peerIds[i]).sort((x, y) => x.seq - y.seq);
    for (let k = 1; k < mine.length; k++) {
      must(mine[k]!.patchedAt >= mine[k - 1]!.patchedAt, `patchedAt of ${patchKey(mine[k]!)} < previous`);
    }
  }

  // Ties the merge order must break by peer id: patches of different peers, one row, one patchedAt.
  const byRowAndTime = new Map<string, Set<number>>();
  for (const p of all.values()) {
    const k = `${String(p.values.id)}@${p.patchedAt}`;
    let peers = byRowAndTime.get(k);
    if (!peers) byRowAndTime.set(k, (peers = new Set()));
    peers.add(p.peerId);
  }
  const crossPeerTies = [...byRowAndTime.values()].filter((peers) => peers.size > 1).length;

  // 4. The model and fresh targets fed every message in random order with duplicates.
  const expected = modelDump("items", cols, all.values());
  const rand = prng(hist.seed);
  for (let k = 0; k < TARGET_IDS.length; k++) {
    const target = await world.target(TARGET_IDS[k]!, hist.peerIds, () => t, DRIFT_BOUND);
    const order = shuffledWithDuplicates(rand, messages);
    for (let x = 0; x < order.length; x++) {
      // Target 1 restarts half-way through.
      if (k === 1 && x === Math.floor(order.length / 2)) await target.restart();
      await target.receive(order[x]!.from, order[x]!.m);
    }
    same(await target.dump(), expected, `target ${k} holds the model's rows`);
  }

  // 5. The origins, after receiving everyone's messages.
  for (let i = 0; i < n; i++) {
    for (const { from, m } of shuffledWithDuplicates(rand, messages)) {
      if (from !== hist.peerIds[i]) await origins[i]!.receive(from, m);
    }
    same(await origins[i]!.dump(), expected, `origin ${i} (peer ${hist.peerIds[i]}) holds the model's rows`);
  }
  return { crossPeerTies };
}

export interface HistoryRunResult {
  runs: number;
  /** Histories with patches of different peers on one row with one patchedAt. */
  ties: number;
  /** The first failure, shrunk, with its counterexample and how to replay it; absent when all held. */
  failure?: string;
}

/**
 * Runs `runs` histories ("random": `historyArb`, "ties": `tieHistoryArb`) through
 * `checkHistoryIn`, each in the world `worldFor(i)` gives (fresh databases per history). For
 * runners other than vitest (the workerd harness); the suites use fc.assert directly.
 */
export async function runHistoryProperty(kind: "random" | "ties", runs: number, seed: number, worldFor: (run: number) => HistoryWorld): Promise<HistoryRunResult> {
  let ties = 0;
  let run = 0;
  const out = await fc.check(
    fc.asyncProperty(kind === "ties" ? tieHistoryArb : historyArb, async (hist) => {
      const world = worldFor(run++);
      try {
        const stats = await checkHistoryIn(world, hist);
        if (stats.crossPeerTies > 0) ties++;
      } finally {
        await world.close?.();
      }
    }),
    { numRuns: runs, seed },
  );
  if (!out.failed) return { runs: out.numRuns, ties };
  const error = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  return { runs: out.numRuns, ties, failure: `${error}\ncounterexample: ${fc.stringify(out.counterexample)}\nseed ${seed}, path ${out.counterexamplePath}` };
}
