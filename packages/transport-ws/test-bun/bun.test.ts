// The Bun side: native Bun.serve server, the global WebSocket client, and the fetch/websocket
// pair mounted in a user's own Bun.serve. Run with `bun test test-bun`.
import { afterEach, describe, expect, it } from "vitest";
import { Database } from "bun:sqlite";
import { openReplica } from "@replic/adapter-bun";
import { connectWebSocket, createBunHandler, serveWebSocket } from "../src/index.js";
import { connectWebSocket as connectFromBrowser } from "../src/browser.js";
import { MIGRATIONS } from "@replic/conformance/replica-process";
import { freezableProxy } from "../test/freezable-proxy.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const quiet = { warn: () => {} };

function peer(peerId: number) {
  const db = new Database(":memory:");
  const replica = openReplica(db, { peerId, heartbeatMs: 100 });
  replica.migrate(MIGRATIONS);
  cleanup.push(() => {
    replica.close();
    db.close();
  });
  const rows = () => JSON.stringify(db.query("SELECT id, v, body FROM items ORDER BY id").all());
  return { db, replica, rows, count: () => (db.query("SELECT count(*) AS n FROM items").get() as { n: number }).n };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("transport-ws under Bun", () => {
  it("Bun.serve server and global WebSocket client link and converge", async () => {
    expect(typeof Bun).toBe("object");
    const a = peer(201);
    const b = peer(202);
    for (let i = 0; i < 30; i++) a.replica.upsert("items", { id: `a${i}`, v: i });
    const server = await serveWebSocket(a.replica, { port: 0, secret: "k", logger: quiet });
    cleanup.push(() => server.close());
    const link = connectWebSocket(b.replica, `ws://127.0.0.1:${server.port}/replic`, { secret: "k", logger: quiet, reconnectBaseMs: 50 });
    cleanup.push(() => link.close());
    expect(await link.linked()).toBe(201);
    const t = b.replica.upsert("items", { id: "b", v: 1 });
    await a.replica.waitFor(t, 5000);
    await until(() => b.count() === 31 && a.rows() === b.rows());
    expect(server.linkCount).toBe(1);
    expect(server.metrics()).toMatch(/replic_ws_connected\{role="server",peer="202"\} 1/);
  });

  it("the browser build (global WebSocket, WebCrypto HMAC) links to a Bun server with the secret", async () => {
    const a = peer(221);
    const b = peer(222);
    a.replica.upsert("items", { id: "from-server", v: 1 });
    const server = await serveWebSocket(a.replica, { port: 0, secret: "k", logger: quiet });
    cleanup.push(() => server.close());
    const link = connectFromBrowser(b.replica, `ws://127.0.0.1:${server.port}/replic`, { secret: "k", logger: quiet, reconnectBaseMs: 50 });
    cleanup.push(() => link.close());
    expect(await link.linked()).toBe(221);
    const t = b.replica.upsert("items", { id: "from-browser-build", v: 2 });
    await a.replica.waitFor(t, 5000);
    await until(() => b.count() === 2 && a.rows() === b.rows());
  });

  it("a wrong secret gets nothing from a Bun server and changes nothing", async () => {
    const a = peer(211);
    a.replica.upsert("items", { id: "secret-row", v: 1 });
    const before = a.rows();
    const server = await serveWebSocket(a.replica, { port: 0, secret: "right", logger: quiet });
    cleanup.push(() => server.close());
    const b = peer(212);
    b.replica.upsert("items", { id: "evil", v: 1 });
    const link = connectWebSocket(b.replica, `ws://127.0.0.1:${server.port}/replic`, { secret: "wrong", logger: quiet, reconnectBaseMs: 5000 });
    cleanup.push(() => link.close());
    await until(() => /replic_ws_auth_failures_total\{role="server",peer="212"\} 1/.test(server.metrics()));
    expect(b.count()).toBe(1);
    expect(a.rows()).toBe(before);
    expect(link.connected).toBe(false);
  });

  for (const [name, dialer] of [
    ["the global WebSocket client", connectWebSocket],
    ["the browser build (WebCrypto)", connectFromBrowser],
  ] as const) {
    it(`${name} without the server's secret: linked() rejects with AUTH_FAILED, counted and logged per dial, dials back off`, async () => {
      const a = peer(241);
      a.replica.upsert("items", { id: "secret-row", v: 1 });
      let dials = 0;
      const handler = createBunHandler(a.replica, { secret: "right", logger: quiet });
      const server = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        websocket: handler.websocket as never,
        fetch(req, srv) {
          dials++;
          return handler.fetch(req, srv as never) as never;
        },
      });
      cleanup.push(() => server.stop(true));
      cleanup.push(() => handler.close());
      const b = peer(242);
      const lines: string[] = [];
      const started = Date.now();
      const link = dialer(b.replica, `ws://127.0.0.1:${server.port}/replic`, { logger: { warn: (m: string) => void lines.push(m) }, reconnectBaseMs: 100, reconnectMaxMs: 10_000 });
      cleanup.push(() => link.close());
      const err = await link.linked().then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: "AUTH_FAILED", refusedBy: "remote", name: "AuthFailedError" });
      expect(link.state).toBe("auth_failed");
      await new Promise((r) => setTimeout(r, 3000 - (Date.now() - started)));
      // At least 50, 100, 200, 400, 800, 1600 ms between dials: at most 6 in 3 s (was ~36).
      expect(dials).toBeGreaterThanOrEqual(3);
      expect(dials).toBeLessThanOrEqual(6);
      const failures = Number(link.metrics().match(/^replic_ws_auth_failures_total\{[^}]*\} (\d+)$/m)?.[1]);
      expect(failures).toBeGreaterThanOrEqual(dials - 1);
      expect(lines).toHaveLength(failures);
      expect(lines.every((l) => /no proof sent.*next try in \d+ ms$/.test(l))).toBe(true);
      expect(b.count()).toBe(0);
      expect(link.connected).toBe(false);
    }, 15_000);
  }

  it("an authenticate hook's 401 reaches the Bun client as AUTH_FAILED", async () => {
    const a = peer(251);
    const handler = createBunHandler(a.replica, { authenticate: () => false, logger: quiet });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", websocket: handler.websocket as never, fetch: (req, srv) => handler.fetch(req, srv as never) as never });
    cleanup.push(() => server.stop(true));
    const b = peer(252);
    const link = connectWebSocket(b.replica, `ws://127.0.0.1:${server.port}/replic`, { logger: quiet, reconnectBaseMs: 5000 });
    cleanup.push(() => link.close());
    const err = await link.linked().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: "AUTH_FAILED", refusedBy: "remote" });
    expect((err as Error).message).toMatch(/401/);
  });

  it("mounts in a user's Bun.serve next to its routes, with an authenticate hook", async () => {
    const a = peer(221);
    a.replica.upsert("items", { id: "x", v: 1 });
    const ws = createBunHandler(a.replica, { authenticate: (req) => req.headers["x-token"] === "ok", logger: quiet });
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      websocket: ws.websocket as never,
      fetch(req, srv) {
        if (new URL(req.url).pathname === "/replic") return ws.fetch(req, srv as never) as never;
        return new Response("app");
      },
    });
    cleanup.push(() => server.stop(true));
    cleanup.push(() => ws.close());
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe("app");
    const refused = peer(222);
    const bad = connectWebSocket(refused.replica, `ws://127.0.0.1:${server.port}/replic`, { headers: { "x-token": "no" }, logger: quiet, reconnectBaseMs: 5000 });
    cleanup.push(() => bad.close());
    await until(() => /replic_ws_auth_failures_total\{role="server",peer="unidentified"\} 1/.test(ws.metrics()));
    const b = peer(223);
    const link = connectWebSocket(b.replica, `ws://127.0.0.1:${server.port}/replic`, { headers: { "x-token": "ok" }, logger: quiet });
    cleanup.push(() => link.close());
    await link.linked();
    await until(() => b.count() === 1);
    expect(refused.count()).toBe(0);
    expect(ws.linkCount).toBe(1);
  });

  it("a half-open link between Bun peers is detected, re-dialled and repaired", async () => {
    const a = peer(231);
    const b = peer(232);
    const fast = { pingIntervalMs: 100, deadAfterMs: 500, logger: quiet };
    const server = await serveWebSocket(a.replica, { port: 0, ...fast });
    cleanup.push(() => server.close());
    const proxy = await freezableProxy(server.port);
    cleanup.push(() => proxy.close());
    const link = connectWebSocket(b.replica, `ws://127.0.0.1:${proxy.port}/replic`, { ...fast, reconnectBaseMs: 50, reconnectMaxMs: 200 });
    cleanup.push(() => link.close());
    await link.linked();
    proxy.freeze(); // bytes stop both ways, no FIN
    const ta = a.replica.upsert("items", { id: "during-a", v: 1 });
    const tb = b.replica.upsert("items", { id: "during-b", v: 2 });
    await until(() => /replic_ws_dead_links_total\{[^}]*\} 1/.test(link.metrics()));
    await until(() => /replic_ws_reconnects_total\{[^}]*\} 1/.test(link.metrics()) && link.connected);
    await b.replica.waitFor(ta, 5000);
    await a.replica.waitFor(tb, 5000);
    expect(a.rows()).toBe(b.rows());
  });
});

describe("transport-ws under Bun: authenticate returns what a peer may write", () => {
  const DDL = `CREATE TABLE items (id INTEGER NOT NULL, tenantId INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, tenantId));
CREATE TABLE items_patches (id INTEGER, tenantId INTEGER, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
  function tenantPeer(peerId: number) {
    const db = new Database(":memory:");
    db.exec(DDL);
    const replica = openReplica(db, { peerId, heartbeatMs: 50, logger: quiet });
    cleanup.push(() => {
      replica.close();
      db.close();
    });
    return { replica, rows: () => JSON.stringify(db.query("SELECT tenantId, id FROM items ORDER BY tenantId, id").values()) };
  }

  it("Bun.serve: a client allowed tenant 1 writing tenant 2 is refused whole (OUT_OF_SCOPE), its tenant-1 writes merge", async () => {
    const hub = tenantPeer(210);
    const device = tenantPeer(211);
    const server = await serveWebSocket(hub.replica, {
      port: 0,
      logger: quiet,
      authenticate: (req) => (req.headers["x-tenant"] === "1" ? { allow: { items: { tenantId: [1] } } } : false),
    });
    cleanup.push(() => server.close());
    const link = connectWebSocket(device.replica, `ws://127.0.0.1:${server.port}/replic`, { headers: { "x-tenant": "1" }, logger: quiet, reconnectBaseMs: 50 });
    cleanup.push(() => link.close());
    expect(await link.linked()).toBe(210);
    await until(() => hub.replica.status().peers.length === 1);
    expect(hub.replica.status().peers[0]!.allow).toEqual({ items: { tenantId: [1] } });
    device.replica.upsert("items", { id: 1, tenantId: 2 });
    device.replica.upsert("items", { id: 2, tenantId: 1 });
    await until(() => hub.rows() === "[[1,2]]");
    await until(() => hub.replica.status().peers[0]!.outOfScope >= 1);
    expect(hub.replica.metrics()).toMatch(/^replic_messages_out_of_scope_total [1-9]/m);
  });
});
