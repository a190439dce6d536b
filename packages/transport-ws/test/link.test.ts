import { describe, expect, it } from "vitest";
import { createServer } from "node:http";
import { connectWebSocket, serveWebSocket } from "../src/index.js";
import { metric, quietLogger, until } from "./helpers.js";
import { testScope } from "./scope.js";
import { rawClient } from "./raw-client.js";

const { defer, peer, serve, connect } = testScope();

describe("serveWebSocket / connectWebSocket on Node", () => {
  it("exchange peer ids in the handshake and converge both ways, with per-link metrics", async () => {
    const a = peer(11);
    const b = peer(12);
    for (let i = 0; i < 50; i++) a.replica.upsert("items", { id: `a${i}`, v: i });
    const server = await serve(a);
    const link = connect(b, `ws://127.0.0.1:${server.port}/replic`);
    expect(await link.linked()).toBe(11);
    const token = b.replica.upsert("items", { id: "b0", v: 1 });
    await a.replica.waitFor(token, 5000);
    await until(() => b.count() === 51 && a.rows() === b.rows(), 5000, "convergence");
    expect(server.linkCount).toBe(1);
    expect(metric(server.metrics(), "connected", 'peer="12"')).toBe(1);
    expect(metric(server.metrics(), "bytes_in_total", 'peer="12"')).toBeGreaterThan(0);
    expect(metric(link.metrics(), "connected")).toBe(1);
    expect(metric(link.metrics(), "bytes_in_total")).toBeGreaterThan(500);
    await link.close();
    await until(() => server.linkCount === 0, 3000, "server to see the close");
    expect(a.replica.status().peers).toHaveLength(0);
  });

  it("a client with the wrong secret gets nothing and changes nothing; the right one links", async () => {
    const a = peer(21);
    for (let i = 0; i < 20; i++) a.replica.upsert("items", { id: `a${i}`, v: i });
    const before = a.rows();
    const server = await serve(a, { secret: "s3cret" });
    const intruder = peer(22);
    intruder.replica.upsert("items", { id: "evil", v: 666 });
    const bad = connect(intruder, `ws://127.0.0.1:${server.port}/replic`, { secret: "wrong", reconnectBaseMs: 5000 });
    await until(() => metric(server.metrics(), "auth_failures_total") >= 1, 5000, "an auth failure");
    // The server's proof fails for the client too; it counts that when the refusal reaches it,
    // which may be a moment after the server counted its side.
    await until(() => metric(bad.metrics(), "auth_failures_total") >= 1, 5000, "the client's auth failure");
    expect(metric(bad.metrics(), "auth_failures_total")).toBe(1);
    expect(bad.connected).toBe(false);
    expect(intruder.count()).toBe(1);
    expect(a.rows()).toBe(before);
    expect(a.replica.status().peers).toHaveLength(0);
    // No secret at all is refused the same way.
    const none = peer(23);
    none.replica.upsert("items", { id: "evil2", v: 1 });
    const raw = await rawClient(`ws://127.0.0.1:${server.port}/replic`, 23);
    const closed = await raw.closed;
    expect(closed.code).toBe(4401);
    expect(raw.received.every((m) => m[0] === 0)).toBe(true); // control frames only, no replic message
    expect(a.rows()).toBe(before);

    const good = peer(24);
    const link = connect(good, `ws://127.0.0.1:${server.port}/replic`, { secret: "s3cret" });
    await link.linked();
    await until(() => good.count() === 20, 5000, "the authenticated client to catch up");
    expect(metric(server.metrics(), "auth_failures_total")).toBe(2);
  });

  it("an authenticate hook sees the request and refuses before any upgrade", async () => {
    const a = peer(31);
    a.replica.upsert("items", { id: "x", v: 1 });
    const seen: string[] = [];
    const server = await serve(a, {
      path: "/sync",
      authenticate: (req) => {
        seen.push(req.url);
        return req.headers["authorization"] === "Bearer ok";
      },
    });
    const b = peer(32);
    const refused = connect(b, `ws://127.0.0.1:${server.port}/sync`, { headers: { authorization: "Bearer no" }, reconnectBaseMs: 5000 });
    await until(() => metric(server.metrics(), "auth_failures_total") === 1, 5000, "the hook to refuse");
    expect(refused.connected).toBe(false);
    expect(b.count()).toBe(0);
    const c = peer(33);
    const ok = connect(c, `ws://127.0.0.1:${server.port}/sync`, { headers: { authorization: "Bearer ok" } });
    await ok.linked();
    await until(() => c.count() === 1, 5000, "catch-up");
    expect(seen.every((u) => u.endsWith("/sync"))).toBe(true);
    // Other paths are not ours.
    const wrongPath = await fetch(`http://127.0.0.1:${server.port}/other`);
    expect(wrongPath.status).toBe(426);
  });

  it("attaches to an existing http.Server without taking its other routes", async () => {
    const a = peer(41);
    a.replica.upsert("items", { id: "x", v: 1 });
    const http = createServer((_req, res) => res.end("app"));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    defer(() => new Promise<void>((r) => http.close(() => r())));
    const port = (http.address() as { port: number }).port;
    const server = await serve(a, { server: http });
    expect(server.port).toBe(port);
    const b = peer(42);
    const link = connect(b, `ws://127.0.0.1:${port}/replic`);
    await link.linked();
    await until(() => b.count() === 1, 5000, "catch-up");
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("app");
  });

  it("two links to the same peer (both sides dial) both stay up; either one carries the traffic", async () => {
    const a = peer(61);
    const b = peer(62);
    const sa = await serve(a);
    const sb = await serve(b);
    const ab = connect(a, `ws://127.0.0.1:${sb.port}/replic`);
    const ba = connect(b, `ws://127.0.0.1:${sa.port}/replic`);
    await ab.linked();
    await ba.linked();
    await new Promise((r) => setTimeout(r, 500));
    // No flapping: nobody closed the duplicate, nobody re-dialled.
    expect([ab.connected, ba.connected, sa.linkCount, sb.linkCount]).toEqual([true, true, 1, 1]);
    expect(metric(ab.metrics(), "reconnects_total") + metric(ba.metrics(), "reconnects_total")).toBe(0);
    expect(a.replica.status().peers).toHaveLength(1);
    await b.replica.waitFor(a.replica.upsert("items", { id: "x", v: 1 }), 5000);
    // Close one of the two: the other takes over on both sides, whichever was sending.
    await ba.close();
    await until(() => sa.linkCount === 0, 3000, "a's server to see the close");
    expect(ab.connected).toBe(true);
    expect(a.replica.status().peers).toHaveLength(1);
    await b.replica.waitFor(a.replica.upsert("items", { id: "y", v: 2 }), 5000);
    await a.replica.waitFor(b.replica.upsert("items", { id: "z", v: 3 }), 5000);
    expect(a.rows()).toBe(b.rows());
  });

  it("refuses bad options with typed errors", async () => {
    const a = peer(51);
    await expect(serveWebSocket(a.replica, { port: -1 })).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(serveWebSocket(a.replica, { path: "nope" })).rejects.toMatchObject({ code: "INVALID_OPTION" });
    expect(() => connectWebSocket(a.replica, "http://x")).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => connectWebSocket(a.replica, "ws://127.0.0.1:1/replic", { secret: "" })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
  });
});
