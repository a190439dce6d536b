// The server's authenticate hook returning what each peer may write (docs/scopes.md): a hub
// allows each device its tenants, read from an upgrade header. A device allowed tenant 1 that
// writes tenant 2 rows is refused at the hub (OUT_OF_SCOPE, counted) and the tenant-2 device
// never sees them; honest writes converge over real sockets.
import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { openReplica, type Replica } from "@replic/adapter-node";
import type { Scope } from "@replic/core";
import { connectWebSocket, serveWebSocket, type AuthResult, type UpgradeRequest } from "../src/index.js";
import { metric, quietLogger, until } from "./helpers.js";

const DDL = `CREATE TABLE items (id INTEGER NOT NULL, tenantId INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, tenantId));
CREATE TABLE items_patches (id INTEGER, tenantId INTEGER, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function peer(peerId: number, scope?: Scope): { replica: Replica; rows: () => unknown[][] } {
  const db = new Database(":memory:");
  db.exec(DDL);
  const replica = openReplica(db, { peerId, heartbeatMs: 50, scope, logger: { warn: () => {} } });
  cleanup.push(() => {
    replica.close();
    db.close();
  });
  return { replica, rows: () => db.prepare("SELECT tenantId, id, name FROM items ORDER BY tenantId, id").raw(true).all() as unknown[][] };
}
const tenants = (...ids: number[]): Scope => ({ items: { tenantId: ids } });
/** The hub's hook: the tenants a device may write, from its (here: trusted) header; no header, no link. */
function byTenantHeader(req: UpgradeRequest): AuthResult {
  const h = req.headers["x-tenants"];
  if (h === undefined) return false;
  return { allow: tenants(...h.split(",").map(Number)) };
}
async function serve(r: Replica, authenticate: (req: UpgradeRequest) => AuthResult | Promise<AuthResult>) {
  const s = await serveWebSocket(r, { port: 0, authenticate, logger: quietLogger() });
  cleanup.push(() => s.close());
  return s;
}
function connect(r: Replica, port: number, tenantsHeader?: string) {
  const link = connectWebSocket(r, `ws://127.0.0.1:${port}/replic`, {
    logger: quietLogger(),
    reconnectBaseMs: 50,
    reconnectMaxMs: 400,
    ...(tenantsHeader === undefined ? {} : { headers: { "x-tenants": tenantsHeader } }),
  });
  cleanup.push(() => link.close());
  return link;
}

describe("serveWebSocket: authenticate returns what a peer may write", () => {
  it("a device allowed tenant 1 writing tenant 2 is refused at the hub; the tenant-2 device never sees it", async () => {
    const hub = peer(100);
    const rogue = peer(1); // holds everything itself; the hub allows it tenant 1
    const t2 = peer(2, tenants(2));
    const server = await serve(hub.replica, async (req) => byTenantHeader(req));
    const links = [connect(rogue.replica, server.port, "1"), connect(t2.replica, server.port, "2")];
    await Promise.all(links.map((l) => l.linked()));
    await until(() => hub.replica.status().peers.length === 2, 5_000, "both devices linked");
    expect(hub.replica.status().peers.map((p) => [p.peerId, p.allow]).sort()).toEqual([
      [1, tenants(1)],
      [2, tenants(2)],
    ]);
    hub.replica.upsert("items", { id: 1, tenantId: 1, name: "hub" });
    rogue.replica.upsert("items", { id: 2, tenantId: 1, name: "rogue, own tenant" });
    rogue.replica.upsert("items", { id: 3, tenantId: 2, name: "rogue, other tenant" });
    rogue.replica.upsert("items", { id: 4, tenantId: 1, name: "rogue again" });
    t2.replica.upsert("items", { id: 5, tenantId: 2, name: "t2" });
    const honest = JSON.stringify([
      [1, 1, "hub"],
      [1, 2, "rogue, own tenant"],
      [1, 4, "rogue again"],
      [2, 5, "t2"],
    ]);
    await until(() => JSON.stringify(hub.rows()) === honest && JSON.stringify(t2.rows()) === honest, 10_000, "honest writes everywhere");
    await until(() => (hub.replica.status().peers.find((p) => p.peerId === 1)?.outOfScope ?? 0) >= 1, 5_000, "the refusal counted");
    expect(hub.replica.status().peers.find((p) => p.peerId === 2)!.outOfScope).toBe(0);
    expect(hub.replica.metrics()).toMatch(/^replic_messages_out_of_scope_total [1-9]/m);
    // The transport counts the refused frame as a bad frame of that peer (and logs it).
    expect(metric(server.metrics(), "bad_frames_total", 'peer="1"')).toBeGreaterThanOrEqual(1);
    expect(metric(server.metrics(), "bad_frames_total", 'peer="2"')).toBe(0);
    // Several heartbeats later, still nothing of it anywhere but on the device that wrote it.
    await new Promise((r) => setTimeout(r, 300));
    expect(JSON.stringify(hub.rows())).toBe(honest);
    expect(JSON.stringify(t2.rows())).toBe(honest);
    expect(rogue.rows()).toContainEqual([2, 3, "rogue, other tenant"]);
  }, 20_000);

  it("false refuses the upgrade; true allows anything", async () => {
    const hub = peer(100);
    const server = await serve(hub.replica, (req) => (req.headers["x-tenants"] === "all" ? true : byTenantHeader(req)));
    const refused = connect(peer(3).replica, server.port);
    await expect(refused.linked()).rejects.toMatchObject({ code: "AUTH_FAILED" });
    const all = peer(4);
    await connect(all.replica, server.port, "all").linked();
    all.replica.upsert("items", { id: 1, tenantId: 7, name: "any tenant" });
    await until(() => hub.rows().length === 1, 5_000, "the write of an unrestricted peer");
    expect(hub.replica.status().peers.map((p) => [p.peerId, p.allow])).toEqual([[4, null]]);
  }, 15_000);

  it("a second link under the same peer id with another allow is refused; the first keeps its allow", async () => {
    const hub = peer(100);
    const server = await serve(hub.replica, (req) => byTenantHeader(req));
    const first = peer(1);
    await connect(first.replica, server.port, "1").linked();
    await until(() => hub.replica.status().peers.length === 1, 5_000, "first linked");
    // Another replica claiming peer id 1 with wider credentials: never widens what peer 1 may write.
    const impostor = peer(1);
    connect(impostor.replica, server.port, "1,2");
    await until(() => metric(server.metrics(), "auth_failures_total") >= 1, 5_000, "the second link refused");
    expect(hub.replica.status().peers.map((p) => [p.peerId, p.allow])).toEqual([[1, tenants(1)]]);
    impostor.replica.upsert("items", { id: 9, tenantId: 2, name: "impostor" });
    first.replica.upsert("items", { id: 1, tenantId: 1, name: "first" });
    await until(() => hub.rows().length === 1, 5_000, "the first peer's write");
    await new Promise((r) => setTimeout(r, 200));
    expect(hub.rows()).toEqual([[1, 1, "first"]]);
  }, 15_000);
});
