// linkInProcess's authenticate hook: what each side allows the other to write (addPeer's allow).
// A spoke allowed tenant 1 that writes tenant 2 is refused at the hub; the tenant-2 spoke never
// sees it; honest writes converge.
import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { isReplicError, type Scope } from "@replic/core";
import { linkInProcess, type InProcessLink } from "../src/index.js";

const DDL = `CREATE TABLE items (id INTEGER NOT NULL, tenantId INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, tenantId));
CREATE TABLE items_patches (id INTEGER, tenantId INTEGER, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function peer(peerId: number, scope?: Scope) {
  const db = new Database(":memory:");
  db.exec(DDL);
  const replica = openReplica(db, { peerId, heartbeatMs: 20, scope, logger: { warn: () => {} } });
  cleanup.push(() => {
    replica.close();
    db.close();
  });
  const rows = () => db.prepare("SELECT tenantId, id, name FROM items ORDER BY tenantId, id").raw(true).all();
  return { replica, rows };
}
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${cond}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const quiet = { warn: () => {} };
const tenants = (...ids: number[]): Scope => ({ items: { tenantId: ids } });

describe("linkInProcess: authenticate", () => {
  it("a spoke writing outside what the hub allows it is refused there and never reaches the other tenant", async () => {
    const hub = peer(100);
    const rogue = peer(1); // holds everything itself; the hub allows it tenant 1 only
    const t2 = peer(2, tenants(2));
    const allowed = new Map<number, Scope>([
      [1, tenants(1)],
      [2, tenants(2)],
    ]);
    // The hub restricts its spokes; the spokes accept whatever the hub sends.
    const authenticate = (remote: number, replica: { peerId: number }) => (replica.peerId === 100 ? { allow: allowed.get(remote) } : true);
    const links: InProcessLink[] = [linkInProcess(hub.replica, rogue.replica, { authenticate, logger: quiet }), linkInProcess(hub.replica, t2.replica, { authenticate, logger: quiet })];
    cleanup.push(() => Promise.all(links.map((l) => l.close())));
    expect(hub.replica.status().peers.map((p) => [p.peerId, p.allow])).toEqual([
      [1, tenants(1)],
      [2, tenants(2)],
    ]);
    hub.replica.upsert("items", { id: 1, tenantId: 1, name: "hub" });
    rogue.replica.upsert("items", { id: 2, tenantId: 1, name: "rogue, own tenant" });
    rogue.replica.upsert("items", { id: 3, tenantId: 2, name: "rogue, other tenant" });
    rogue.replica.upsert("items", { id: 4, tenantId: 1, name: "rogue again" });
    t2.replica.upsert("items", { id: 5, tenantId: 2, name: "t2" });
    const honest = [
      [1, 1, "hub"],
      [1, 2, "rogue, own tenant"],
      [1, 4, "rogue again"],
      [2, 5, "t2"],
    ];
    await until(() => JSON.stringify(hub.rows()) === JSON.stringify(honest) && JSON.stringify(t2.rows()) === JSON.stringify(honest));
    await until(() => links[0]!.refused >= 1);
    expect(links[1]!.refused).toBe(0);
    const atHub = hub.replica.status().peers.find((p) => p.peerId === 1)!;
    expect(atHub.outOfScope).toBeGreaterThanOrEqual(1);
    expect(hub.replica.metrics()).toMatch(/^replic_messages_out_of_scope_total [1-9]/m);
    // Still nothing of it after more rounds (gap repair asks again and is refused again).
    await new Promise((r) => setTimeout(r, 150));
    expect(hub.rows()).toEqual(honest);
    expect(t2.rows()).toEqual(honest);
  });

  it("a refusal or a throw links nothing (AUTH_FAILED); an allow that does not fit the schema leaves no half link", () => {
    const a = peer(1);
    const b = peer(2);
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isReplicError(e) ? e.code : String(e);
      }
      return "linked";
    };
    expect(codeOf(() => linkInProcess(a.replica, b.replica, { authenticate: (remote) => remote !== 2, logger: quiet }))).toBe("AUTH_FAILED");
    expect(codeOf(() => linkInProcess(a.replica, b.replica, { authenticate: () => { throw new Error("no"); }, logger: quiet }))).toBe("AUTH_FAILED");
    expect(codeOf(() => linkInProcess(a.replica, b.replica, { authenticate: "yes" as never }))).toBe("INVALID_OPTION");
    expect(codeOf(() => linkInProcess(a.replica, b.replica, { authenticate: (_r, at) => (at === b.replica ? { allow: { nope: { id: [1] } } } : true), logger: quiet }))).toBe("INVALID_SCOPE");
    expect(a.replica.status().peers).toEqual([]);
    expect(b.replica.status().peers).toEqual([]);
    const link = linkInProcess(a.replica, b.replica, { authenticate: () => ({}), logger: quiet });
    cleanup.push(() => link.close());
    expect(a.replica.status().peers.map((p) => p.allow)).toEqual([null]);
  });
});
