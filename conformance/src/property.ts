import fc from "fast-check";
import { describe, it } from "vitest";
import { Harness, ITEMS } from "./harness.js";
import { checkHistoryIn, historyArb, type History, type HistoryReplica, type HistoryWorld } from "./history.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { columnsOf, dumpTable, envInt, SINK } from "./util.js";


export function propertySuite<Db>(b: ConformanceBinding<Db>): void {
  const runs = envInt("REPLIC_PROPERTY_RUNS", 200);

  describe("property: random histories converge to the model of the merge rule", () => {
    it(
      `origins and targets equal the model (${runs} runs)`,
      async () => {
        await fc.assert(
          fc.asyncProperty(historyArb, async (hist) => {
            // Yield to the event loop between runs: a long synchronous block starves the test runner.
            await new Promise((resolve) => setTimeout(resolve, 0));
            const h = new Harness(b);
            try {
              await checkHistory(b, h, hist);
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

/** The world of `checkHistoryIn` on replicas of this process, opened through `h`. */
export function localWorld<Db>(b: ConformanceBinding<Db>, h: Harness<Db>): HistoryWorld {
  const replica = (db: Db, r: ReplicaLike, links: (r: ReplicaLike) => void, reopen: () => ReplicaLike, capture: Uint8Array[]): HistoryReplica => {
    links(r);
    return {
      async write(rows, tx) {
        return tx ? r.transaction(() => rows.map((row) => r.upsert("items", row))) : rows.map((row) => r.upsert("items", row));
      },
      async receive(from, m) {
        r.receive(from, m);
      },
      async tick() {
        r.tick();
      },
      async restart() {
        r.close();
        r = reopen();
        links(r);
        return r.peerId;
      },
      async drain() {
        return capture.splice(0);
      },
      async dump() {
        return dumpTable(b, db, "items");
      },
      async columns() {
        return columnsOf(b, db, "items");
      },
    };
  };
  return {
    async origin(peerId, others, now, maxClockDriftMs) {
      const { db, r } = h.open(ITEMS, { peerId, now, maxClockDriftMs });
      const capture: Uint8Array[] = [];
      const links = (x: ReplicaLike) => {
        x.addPeer(SINK, (m) => capture.push(new Uint8Array(m)));
        for (const id of others) x.addPeer(id, () => {});
      };
      return replica(db, r, links, () => h.replica(db, { now, maxClockDriftMs }), capture);
    },
    async target(peerId, origins, now, maxClockDriftMs) {
      const { db, r } = h.open(ITEMS, { peerId, now, maxClockDriftMs });
      const links = (x: ReplicaLike) => origins.forEach((id) => x.addPeer(id, () => {}));
      return replica(db, r, links, () => h.replica(db, { now, maxClockDriftMs }), []);
    },
    decode: (bytes) => b.adapter.decodeMessage(bytes),
  };
}

/** `checkHistoryIn` on fresh databases of binding `b`. */
export function checkHistory<Db>(b: ConformanceBinding<Db>, h: Harness<Db>, hist: History): Promise<{ crossPeerTies: number }> {
  return checkHistoryIn(localWorld(b, h), hist);
}
