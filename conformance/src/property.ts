import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Harness, ITEMS } from "./harness.js";
import type { ConformanceBinding, ReplicaLike, SqlValue } from "./types.js";
import {
  cellOf,
  cellString,
  columnsOf,
  dumpTable,
  envInt,
  modelDump,
  parseToken,
  patchesOf,
  patchFingerprint,
  patchKey,
  prng,
  shuffledWithDuplicates,
  SINK,
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

const COLUMNS = ["qty", "price", "name", "data", "deletedAt"] as const;
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
      // A third of the writes: plain SQL on the captured table.
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

const historyArb: fc.Arbitrary<History> = fc.integer({ min: 2, max: 4 }).chain((n) =>
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

const hex = (bytes: Uint8Array) => Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");

/** A SQL literal of exactly `v` (text and blobs as bytes, int64 through a cast). */
function literal(v: unknown): string {
  if (v === null) return "NULL";
  if (typeof v === "bigint") return `CAST('${v}' AS INTEGER)`;
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `CAST(x'${hex(new TextEncoder().encode(v))}' AS TEXT)`;
  if (v instanceof Uint8Array) return `x'${hex(v)}'`;
  throw new Error(`no literal for ${String(v)}`);
}

/** An op as plain SQL writes it: prices are quarters (their decimal literal is exact). */
function sqlOp(op: Op): Op {
  if (typeof op.price !== "number") return op;
  const q = Number.isFinite(op.price) && Math.abs(op.price) < 1e12 ? Math.trunc(op.price * 4) / 4 : 0.5;
  return { ...op, price: q + 0 };
}

/**
 * Plain SQL writes on a captured table: `INSERT … ON CONFLICT(id) DO UPDATE` per op (in one
 * transaction when `tx`), then flush(). Returns the patches expected, in drain order: a new row
 * is a patch of every column, an existing one of the columns set; one patch per row per flush.
 */
function writeSql<Db>(b: ConformanceBinding<Db>, db: Db, r: ReplicaLike, ops: Op[], tx: boolean): { before: number; rows: Record<string, unknown>[] }[] {
  const groups: Op[][] = tx ? [ops] : ops.map((op) => [op]);
  const out: { before: number; rows: Record<string, unknown>[] }[] = [];
  for (const group of groups) {
    const rows = new Map<number, Record<string, unknown>>();
    if (tx) b.exec(db, "BEGIN");
    for (const op of group) {
      const present = COLUMNS.filter((c) => op[c] !== ABSENT);
      const exists = b.all(db, `SELECT id FROM items WHERE id = ${op.key}`).length > 0;
      const set = present.length > 0 ? `DO UPDATE SET ${present.map((c) => `${c} = excluded.${c}`).join(", ")}` : "DO NOTHING";
      b.exec(db, `INSERT INTO items (id${present.map((c) => `, ${c}`).join("")}) VALUES (${[op.key, ...present.map((c) => op[c])].map(literal).join(", ")}) ON CONFLICT(id) ${set}`);
      let row = rows.get(op.key);
      if (!exists) {
        row = { id: op.key };
        for (const c of COLUMNS) row[c] = op[c] === ABSENT ? null : op[c];
        rows.set(op.key, row);
      } else if (present.length > 0) {
        if (!row) rows.set(op.key, (row = { id: op.key }));
        for (const c of present) row[c] = op[c];
      }
    }
    if (tx) b.exec(db, "COMMIT");
    const before = (r.status() as { sequence: number }).sequence;
    const token = r.flush();
    const after = (r.status() as { sequence: number }).sequence;
    if (after !== before + rows.size) throw new Error(`flush() drained ${after - before} patches, expected ${rows.size}`);
    if (rows.size > 0 && token !== `${r.peerId}.${after}`) throw new Error(`flush() returned ${token}, expected ${r.peerId}.${after}`);
    out.push({ before, rows: [...rows.values()] });
  }
  return out;
}

function rowOf(op: Op): Record<string, unknown> {
  const row: Record<string, unknown> = { id: op.key };
  for (const c of COLUMNS) if (op[c] !== ABSENT) row[c] = op[c];
  return row;
}

export function propertySuite<Db>(b: ConformanceBinding<Db>): void {
  const runs = envInt("REPLIC_PROPERTY_RUNS", 200);

  describe("property: random histories converge to the model of the merge rule", () => {
    it(
      `origins and targets equal the model, a third of the writes plain SQL on a captured table (${runs} runs)`,
      async () => {
        await fc.assert(
          fc.asyncProperty(historyArb, async (hist) => {
            // Yield to the event loop between runs: a long synchronous block starves the test runner.
            await new Promise((resolve) => setTimeout(resolve, 0));
            const h = new Harness(b);
            try {
              checkHistory(b, h, hist);
            } finally {
              h.closeAll();
            }
          }),
          { numRuns: runs },
        );
      },
      600_000,
    );
  });
}

/** Wider than any skew drawn: these histories test the merge rule, not the hold of far-future patches. */
const DRIFT_BOUND = 10 * 60_000;

export function checkHistory<Db>(b: ConformanceBinding<Db>, h: Harness<Db>, hist: History): { crossPeerTies: number } {
  const n = hist.peerIds.length;
  const BASE = 1_700_000_000_000;
  let t = BASE;
  const offset = hist.skews.slice();
  const origins: { db: Db; r: ReplicaLike }[] = [];
  const sent: Uint8Array[][] = [];
  /** Links origin i: a capturing link to SINK and a silent link to every other origin. */
  const link = (i: number) => {
    origins[i]!.r.addPeer(SINK, (m) => sent[i]!.push(new Uint8Array(m)));
    for (let j = 0; j < n; j++) if (j !== i) origins[i]!.r.addPeer(hist.peerIds[j]!, () => {});
  };
  for (let i = 0; i < n; i++) {
    const idx = i;
    origins.push(h.open(ITEMS, { peerId: hist.peerIds[i], now: () => t + offset[idx]!, maxClockDriftMs: DRIFT_BOUND, capture: ["items"] }));
    sent.push([]);
    link(i);
  }

  // 1. Play the history, recording what each upsert was given and returned.
  const written: { origin: number; token: string; row: Record<string, unknown> }[] = [];
  for (const step of hist.steps) {
    switch (step.kind) {
      case "write": {
        const i = step.origin % n;
        const r = origins[i]!.r;
        if (step.sql) {
          for (const { before, rows } of writeSql(b, origins[i]!.db, r, step.ops.map(sqlOp), step.tx)) {
            rows.forEach((row, k) => written.push({ origin: i, token: `${hist.peerIds[i]}.${before + k + 1}`, row }));
          }
          break;
        }
        const rows = step.ops.map(rowOf);
        const tokens = step.tx ? r.transaction(() => rows.map((row) => r.upsert("items", row))) : rows.map((row) => r.upsert("items", row));
        rows.forEach((row, k) => written.push({ origin: i, token: tokens[k]!, row }));
        break;
      }
      case "deliver": {
        const from = step.from % n;
        const to = step.to % n;
        if (from === to) break;
        sent[from]!.forEach((m, k) => {
          if (step.pick[k % step.pick.length]) origins[to]!.r.receive(hist.peerIds[from]!, m);
        });
        break;
      }
      case "advance":
        t += step.ms;
        break;
      case "jump":
        offset[step.origin % n]! += step.ms;
        break;
      case "tick":
        origins[step.origin % n]!.r.tick();
        break;
      case "restart": {
        // Close the replica and open a new one on the same database (peerId from the database).
        const i = step.origin % n;
        origins[i]!.r.close();
        origins[i]!.r = h.replica(origins[i]!.db, { now: () => t + offset[i]!, maxClockDriftMs: DRIFT_BOUND, capture: ["items"] });
        expect(origins[i]!.r.peerId, "peerId after restart").toBe(hist.peerIds[i]);
        link(i);
        break;
      }
    }
  }

  // 2. Tokens: "<peerId>.<seq>", consecutive from 1 on each origin.
  const nextSeq = new Array<number>(n).fill(1);
  for (const w of written) {
    const tok = parseToken(w.token);
    expect(tok.peerId, `token ${w.token} peer`).toBe(hist.peerIds[w.origin]);
    expect(tok.seq, `token ${w.token} seq`).toBe(nextSeq[w.origin]!);
    nextSeq[w.origin]!++;
  }

  // 3. Every message decodes; patches with the same (peerId, seq) agree; each write is there as given.
  const cols = columnsOf(b, origins[0]!.db, "items");
  const all = new Map<string, Patch>();
  const messages: { from: number; m: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    for (const m of sent[i]!) {
      messages.push({ from: hist.peerIds[i]!, m });
      for (const p of patchesOf(b.adapter.decodeMessage(m)).patches) {
        const k = patchKey(p);
        const prev = all.get(k);
        if (prev) expect(patchFingerprint(p, cols), `duplicate patch ${k} differs`).toBe(patchFingerprint(prev, cols));
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
    expect(p, `the write of token ${w.token} was never sent`).toBeDefined();
    expect(p!.table).toBe("items");
    expect(normalize(p!.values), `patch ${w.token} values`).toBe(normalize(w.row));
  }
  expect(all.size, "patches on the wire that no upsert returned a token for").toBe(written.length);
  // The clock never goes backwards on an origin.
  for (let i = 0; i < n; i++) {
    const mine = [...all.values()].filter((p) => p.peerId === hist.peerIds[i]).sort((x, y) => x.seq - y.seq);
    for (let k = 1; k < mine.length; k++) {
      expect(mine[k]!.patchedAt, `patchedAt of ${patchKey(mine[k]!)} < previous`).toBeGreaterThanOrEqual(mine[k - 1]!.patchedAt);
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
    const target = h.open(ITEMS, { peerId: TARGET_IDS[k], now: () => t, maxClockDriftMs: DRIFT_BOUND });
    for (const id of hist.peerIds) target.r.addPeer(id, () => {});
    const order = shuffledWithDuplicates(rand, messages);
    order.forEach(({ from, m }, x) => {
      if (k === 1 && x === Math.floor(order.length / 2)) {
        // Target 1 restarts half-way through.
        target.r.close();
        target.r = h.replica(target.db, { now: () => t, maxClockDriftMs: DRIFT_BOUND });
        for (const id of hist.peerIds) target.r.addPeer(id, () => {});
      }
      target.r.receive(from, m);
    });
    expect(dumpTable(b, target.db, "items"), `target ${k}`).toBe(expected);
  }

  // 5. The origins, after receiving everyone's messages.
  for (let i = 0; i < n; i++) {
    for (const { from, m } of shuffledWithDuplicates(rand, messages)) {
      if (from !== hist.peerIds[i]) origins[i]!.r.receive(from, m);
    }
    expect(dumpTable(b, origins[i]!.db, "items"), `origin ${i} (peer ${hist.peerIds[i]})`).toBe(expected);
  }
  return { crossPeerTies };
}
