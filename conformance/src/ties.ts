/**
 * Property tests that hunt ties of the merge order (the merge rule (README, "Merge rule"): (patchedAt, peerId,
 * sequenceId)). Random histories rarely tie on patchedAt, so a merge that breaks ties wrongly
 * (seq before peer id, or peer ids reversed) can pass them. These histories are biased toward
 * ties: every peer's clock stands still or moves by 1 ms, peers write in bursts to one or two
 * rows and columns, peer ids are small, adjacent or extreme and often order against their clocks
 * (the higher id runs behind), and peers exchange messages mid-history so their clocks meet.
 * The seed is printed; REPLIC_PROP_SEED replays a run, REPLIC_TIE_RUNS sets its size.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Harness } from "./harness.js";
import { ABSENT, checkHistory, TARGET_IDS, type History, type Op, type Step } from "./property.js";
import type { ConformanceBinding } from "./types.js";
import { envInt, SINK } from "./util.js";

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

const tieHistory: fc.Arbitrary<History> = fc
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

export function tiesSuite<Db>(b: ConformanceBinding<Db>): void {
  const runs = envInt("REPLIC_TIE_RUNS", 150);
  const seed = envInt("REPLIC_PROP_SEED", Math.floor(Math.random() * 2 ** 31));

  describe("property: histories biased toward ties of the merge order", () => {
    it(`origins and targets equal the model (${runs} runs, REPLIC_PROP_SEED=${seed})`, async () => {
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] tie-hunting property: REPLIC_PROP_SEED=${seed} REPLIC_TIE_RUNS=${runs}`);
      let ties = 0;
      await fc.assert(
        fc.asyncProperty(tieHistory, async (hist) => {
          await new Promise((resolve) => setTimeout(resolve, 0));
          const h = new Harness(b);
          try {
            const stats = checkHistory(b, h, hist);
            if (stats.crossPeerTies > 0) ties++;
          } finally {
            h.closeAll();
          }
        }),
        { numRuns: runs, seed },
      );
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] tie-hunting property: ${ties} of ${runs} histories had patches of different peers on one row with equal patchedAt`);
      expect(ties, "histories with a cross-peer tie on one row").toBeGreaterThan(runs / 2);
    }, 600_000);
  });
}
