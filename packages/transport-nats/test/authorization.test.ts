// joinNats's authenticate hook: what each member may write (addPeer's allow, docs/scopes.md).
// Every member hears every member's writes on the cluster subject, so every member applies the
// same policy: a member allowed tenant 1 writing tenant 2 is refused by the hub and by the
// tenant-2 member alike; honest writes converge through a real nats-server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import type { Scope } from "@replic/core";
import { joinNats, type NatsMembership } from "../src/index.js";
import { NatsServer } from "./nats-server.js";

const DDL = `CREATE TABLE items (id INTEGER NOT NULL, tenantId INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, tenantId));
CREATE TABLE items_patches (id INTEGER, tenantId INTEGER, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
let nats: NatsServer;
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(() => nats.down());
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const tenants = (...ids: number[]): Scope => ({ items: { tenantId: ids } });
function peer(peerId: number, scope?: Scope) {
  const db = new Database(":memory:");
  db.exec(DDL);
  const replica = openReplica(db, { peerId, heartbeatMs: 50, scope, logger: { warn: () => {} } });
  cleanup.push(() => {
    replica.close();
    db.close();
  });
  return { replica, rows: () => JSON.stringify(db.prepare("SELECT tenantId, id, name FROM items ORDER BY tenantId, id").raw(true).all()) };
}
async function join(p: ReturnType<typeof peer>, authenticate: NonNullable<Parameters<typeof joinNats>[1]["authenticate"]>): Promise<NatsMembership> {
  const m = await joinNats(p.replica, { servers: nats.url, cluster: "tenants", authenticate, logger: { warn: () => {} } });
  cleanup.push(() => m.close());
  return m;
}
async function until(cond: () => boolean, ms = 15_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const metric = (text: string, name: string) => Number(text.match(new RegExp(`^replic_nats_${name}\\{[^}]*\\} (\\d+)$`, "m"))?.[1]);

describe("joinNats: authenticate", () => {
  it("a member allowed tenant 1 writing tenant 2 is refused by every member; honest writes converge", async () => {
    // The policy every member applies: the hub (100) may write anything, devices their tenants; 7 is not admitted.
    const policy = async (peerId: number) => (peerId === 100 ? true : peerId === 1 ? { allow: tenants(1) } : peerId === 2 ? { allow: tenants(2) } : false);
    const hub = peer(100);
    const rogue = peer(1);
    const t2 = peer(2, tenants(2));
    const stranger = peer(7);
    const [mh, , m2] = [await join(hub, policy), await join(rogue, policy), await join(t2, policy), await join(stranger, policy)];
    await until(() => mh.members.length === 2 && m2.members.length === 2, 10_000, "members linked");
    expect(mh.members.sort()).toEqual([1, 2]);
    expect(hub.replica.status().peers.map((p) => [p.peerId, p.allow]).sort()).toEqual([
      [1, tenants(1)],
      [2, tenants(2)],
    ]);
    hub.replica.upsert("items", { id: 1, tenantId: 1, name: "hub" });
    rogue.replica.upsert("items", { id: 2, tenantId: 1, name: "rogue, own tenant" });
    rogue.replica.upsert("items", { id: 3, tenantId: 2, name: "rogue, other tenant" });
    rogue.replica.upsert("items", { id: 4, tenantId: 1, name: "rogue again" });
    t2.replica.upsert("items", { id: 5, tenantId: 2, name: "t2" });
    stranger.replica.upsert("items", { id: 6, tenantId: 2, name: "stranger" });
    const honest = JSON.stringify([
      [1, 1, "hub"],
      [1, 2, "rogue, own tenant"],
      [1, 4, "rogue again"],
      [2, 5, "t2"],
    ]);
    await until(() => hub.rows() === honest && t2.rows() === honest, 15_000, "honest writes on the hub and the tenant-2 member");
    await until(() => (hub.replica.status().peers.find((p) => p.peerId === 1)?.outOfScope ?? 0) >= 1, 5_000, "refused at the hub");
    await until(() => (t2.replica.status().peers.find((p) => p.peerId === 1)?.outOfScope ?? 0) >= 1, 5_000, "refused at the tenant-2 member");
    expect(hub.replica.status().peers.find((p) => p.peerId === 2)!.outOfScope).toBe(0);
    expect(metric(mh.metrics(), "peers_refused_total")).toBeGreaterThanOrEqual(1); // the stranger
    expect(metric(mh.metrics(), "bad_frames_total")).toBeGreaterThanOrEqual(1); // the refused message
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.rows()).toBe(honest);
    expect(t2.rows()).toBe(honest);
  }, 30_000);

  it("refuses a hook that is not a function", async () => {
    const p = peer(50);
    await expect(joinNats(p.replica, { servers: nats.url, cluster: "x", authenticate: "yes" as never })).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});
