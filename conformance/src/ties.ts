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
import { tieHistoryArb } from "./history.js";
import { checkHistory } from "./property.js";
import type { ConformanceBinding } from "./types.js";
import { envInt } from "./util.js";

export function tiesSuite<Db>(b: ConformanceBinding<Db>): void {
  const runs = envInt("REPLIC_TIE_RUNS", 150);
  const seed = envInt("REPLIC_PROP_SEED", Math.floor(Math.random() * 2 ** 31));

  describe("property: histories biased toward ties of the merge order", () => {
    it(`origins and targets equal the model (${runs} runs, REPLIC_PROP_SEED=${seed})`, async () => {
      // eslint-disable-next-line no-console
      console.log(`[conformance ${b.name}] tie-hunting property: REPLIC_PROP_SEED=${seed} REPLIC_TIE_RUNS=${runs}`);
      let ties = 0;
      await fc.assert(
        fc.asyncProperty(tieHistoryArb, async (hist) => {
          await new Promise((resolve) => setTimeout(resolve, 0));
          const h = new Harness(b);
          try {
            const stats = await checkHistory(b, h, hist);
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
