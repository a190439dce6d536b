// Refused handshakes, as the client sees them: a typed error (linked() rejects, auth_failed
// listeners hear it), counted and logged on the client too, and re-dials that back off instead
// of a storm. Also the two directions of compatibility with 0.1 peers, which never sent the ping
// that now follows a proof.
import { describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { WebSocketServer } from "ws";
import { isReplicError } from "@replic/core";
import { AuthFailedError, type LinkStateChange } from "../src/index.js";
import { decodeControl, encodeControl, isControlFrame, TRANSPORT_VERSION } from "../src/frames.js";
import { metric, quietLogger, until } from "./helpers.js";
import { rawClient } from "./raw-client.js";
import { testScope } from "./scope.js";

const { defer, peer, serve, connect } = testScope();

/** An http.Server that counts upgrade requests (one per dial), for serveWebSocket to attach to. */
async function countingServer(): Promise<{ http: Server; port: number; dials: () => number }> {
  const http = createServer();
  let dials = 0;
  http.on("upgrade", () => void dials++);
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  defer(() => new Promise<void>((r) => http.close(() => r())));
  return { http, port: (http.address() as { port: number }).port, dials: () => dials };
}

describe("a refused handshake, seen from the client", () => {
  it("secret on the server only: linked() rejects with AUTH_FAILED, counted and logged on both sides, re-dials back off", async () => {
    const a = peer(301);
    a.replica.upsert("items", { id: "x", v: 1 });
    const { http, port, dials } = await countingServer();
    const serverLog = quietLogger();
    const server = await serve(a, { server: http, secret: "s3cret", logger: serverLog });
    const b = peer(302);
    const log = quietLogger();
    const states: LinkStateChange[] = [];
    const heard: AuthFailedError[] = [];
    const started = Date.now();
    const link = connect(b, `ws://127.0.0.1:${port}/replic`, { logger: log, reconnectBaseMs: 100, reconnectMaxMs: 10_000 });
    link.on("state", (s) => void states.push(s));
    link.on("auth_failed", (e) => void heard.push(e));

    const err = await link.linked().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthFailedError);
    expect(isReplicError(err)).toBe(true);
    expect(err).toMatchObject({ code: "AUTH_FAILED", refusedBy: "remote" });
    expect((err as Error).message).toMatch(/no proof sent/);
    expect(link.state).toBe("auth_failed");
    expect(link.authError).toBe(err);
    // While refused, linked() rejects at once with the last refusal.
    await expect(link.linked()).rejects.toBe(err);

    // A window of 3 s: with the old behaviour (linked, then dropped) this was ~36 dials.
    await new Promise((r) => setTimeout(r, 3000 - (Date.now() - started)));
    const n = dials();
    // Back-off delays are at least 50, 100, 200, 400, 800, 1600 ms: at most 6 dials fit in 3 s.
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThanOrEqual(6);
    const failures = metric(link.metrics(), "auth_failures_total");
    expect(failures).toBeGreaterThanOrEqual(n - 1); // the last dial may still be in flight
    expect(failures).toBeLessThanOrEqual(n);
    expect(metric(server.metrics(), "auth_failures_total")).toBe(failures);
    // One warning per refused dial, saying when the next one comes; nothing else.
    expect(log.lines).toHaveLength(failures);
    expect(log.lines.every((l) => /refused this client: .*no proof sent.*; next try in \d+ ms$/.test(l))).toBe(true);
    expect(heard).toHaveLength(failures);
    // Never linked, not even for a moment; nothing replicated.
    expect(states.some((s) => s.state === "connected")).toBe(false);
    expect(states[0]).toMatchObject({ previous: "connecting", state: "auth_failed" });
    expect(states.slice(1).every((s) => s.state === "auth_failed" || s.state === "reconnecting")).toBe(true);
    expect(metric(link.metrics(), "connected")).toBe(0);
    expect(b.count()).toBe(0);
    expect(a.replica.status().peers).toHaveLength(0);
    expect(b.replica.status().peers).toHaveLength(0);
  }, 15_000);

  it("wrong secret on the client: AUTH_FAILED, and the link comes up once the server takes that secret", async () => {
    const a = peer(311);
    a.replica.upsert("items", { id: "x", v: 1 });
    let server = await serve(a, { secret: "right" });
    const port = server.port;
    const b = peer(312);
    const link = connect(b, `ws://127.0.0.1:${port}/replic`, { secret: "wrong", reconnectBaseMs: 100, reconnectMaxMs: 300 });
    await expect(link.linked()).rejects.toMatchObject({ code: "AUTH_FAILED" });
    expect(link.connected).toBe(false);
    expect(metric(link.metrics(), "auth_failures_total")).toBeGreaterThanOrEqual(1);
    // The server's secret is rotated to the one the client holds: the next dial links.
    await server.close();
    server = await serve(a, { port, secret: "wrong" });
    await until(() => link.state === "connected", 5000, "the link to come up");
    expect(link.authError).toBeUndefined();
    expect(await link.linked()).toBe(311);
    await until(() => b.count() === 1, 5000, "catch-up");
  });

  it("secret on the client only: the client refuses the server's empty proof; the server hears why", async () => {
    const a = peer(321);
    a.replica.upsert("items", { id: "x", v: 1 });
    const serverLog = quietLogger();
    const server = await serve(a, { logger: serverLog });
    const b = peer(322);
    const link = connect(b, `ws://127.0.0.1:${server.port}/replic`, { secret: "mine", reconnectBaseMs: 5000 });
    await expect(link.linked()).rejects.toMatchObject({ code: "AUTH_FAILED", refusedBy: "local" });
    expect(metric(link.metrics(), "auth_failures_total")).toBe(1);
    await until(() => metric(server.metrics(), "auth_failures_total", 'peer="322"') === 1, 5000, "the server to count the refusal");
    expect(serverLog.lines.some((l) => /peer 322 refused our authentication: .*no proof sent/.test(l))).toBe(true);
    // The server never linked the client either.
    expect(a.replica.status().peers).toHaveLength(0);
    expect(b.count()).toBe(0);
  });

  it("an authenticate hook's HTTP 401 is an AUTH_FAILED too, counted on the client", async () => {
    const a = peer(331);
    const server = await serve(a, { authenticate: () => false });
    const b = peer(332);
    const link = connect(b, `ws://127.0.0.1:${server.port}/replic`, { reconnectBaseMs: 5000 });
    await expect(link.linked()).rejects.toMatchObject({ code: "AUTH_FAILED", refusedBy: "remote" });
    expect(link.authError?.message).toMatch(/401/);
    expect(metric(link.metrics(), "auth_failures_total")).toBe(1);
  });

  it("a lost link reports reconnecting, then connected again", async () => {
    const a = peer(341);
    let server = await serve(a);
    const port = server.port;
    const b = peer(342);
    const link = connect(b, `ws://127.0.0.1:${port}/replic`);
    const states: string[] = [];
    link.on("state", (s) => void states.push(s.state));
    await link.linked();
    expect(link.state).toBe("connected");
    await server.close();
    await until(() => link.state === "reconnecting", 3000, "reconnecting");
    server = await serve(a, { port });
    await until(() => link.state === "connected", 5000, "connected again");
    await link.close();
    expect(link.state).toBe("closed");
    expect(states).toEqual(["connected", "reconnecting", "connected", "closed"]);
  });
});

describe("compatibility with 0.1 peers", () => {
  it("a 0.1 client (no ping after its proof) still links to this server", async () => {
    const a = peer(351);
    a.replica.upsert("items", { id: "x", v: 1 });
    const server = await serve(a);
    const raw = await rawClient(`ws://127.0.0.1:${server.port}/replic`, 352);
    defer(() => raw.ws.close());
    // The server links once the old client answers the server's ping, and sends its heads.
    await until(() => server.linkCount === 1, 5000, "the server to link the 0.1 client");
    await until(() => raw.received.some((m) => m[0] === 0x72), 5000, "a replic message");
  });

  it("this client links to a 0.1 server (heads before the pong)", async () => {
    const a = peer(361);
    a.replica.upsert("items", { id: "from-old-server", v: 1 });
    // The 0.1 server's handshake: hello, empty proof (no secret), link as soon as the client's
    // proof arrived (heads go out at once), and pong whatever it is pinged.
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    defer(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on("connection", (ws) => {
      let peerId: number | undefined;
      ws.send(encodeControl({ type: "hello", version: TRANSPORT_VERSION, peerId: 361, nonce: new Uint8Array(16) }));
      ws.on("message", (d: Buffer) => {
        const bytes = new Uint8Array(d);
        if (!isControlFrame(bytes)) return a.replica.receive(peerId!, bytes);
        const f = decodeControl(bytes);
        if (f.type === "hello") {
          peerId = f.peerId;
          ws.send(encodeControl({ type: "auth", proof: new Uint8Array(0) }));
        } else if (f.type === "auth") {
          a.replica.addPeer(peerId!, (m) => ws.send(m));
          a.replica.tick();
        } else if (f.type === "ping") {
          ws.send(encodeControl({ type: "pong" }));
        }
      });
      ws.on("close", () => peerId !== undefined && a.replica.removePeer(peerId));
    });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const b = peer(362);
    const log = quietLogger();
    const link = connect(b, `ws://127.0.0.1:${(wss.address() as { port: number }).port}/replic`, { logger: log });
    expect(await link.linked()).toBe(361);
    await until(() => b.count() === 1, 5000, "the old server's row");
    expect(log.lines).toEqual([]);
  });
});
