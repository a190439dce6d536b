// Replicas of the orders schema (group-sim.ts) on in-memory better-sqlite3, closed after each
// test, for the tests of group patches.
import { afterEach } from "vitest";
import { createReplica, type Replica } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { dumpOrders, ORDERS_MIGRATIONS, orderViolation } from "./group-sim.js";

export type OrdersPeer = ReturnType<ReturnType<typeof ordersPeers>["peer"]>;

/** Call at a test file's top level: `peer(id, options)` opens one, `open` lists them (to add replicas opened otherwise). */
export function ordersPeers() {
  const open: Replica[] = [];
  afterEach(() => {
    for (const r of open.splice(0)) r.close();
  });
  function peer(id: number, opts: Record<string, unknown> = {}) {
    const d = testDriver();
    const r = createReplica(d, { peerId: id, heartbeatMs: 0, ...opts });
    r.migrate(ORDERS_MIGRATIONS);
    open.push(r);
    return { r, d, dump: () => dumpOrders(d), violation: () => orderViolation(d) };
  }
  return { peer, open };
}

/** A counter of a replica's metrics, NaN when absent. */
export function metric(r: Replica, name: string): number {
  return Number(new RegExp(`^replic_${name} (\\d+)$`, "m").exec(r.metrics())?.[1] ?? NaN);
}
