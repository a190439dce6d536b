/**
 * ReplicHub: a Durable Object that is a replic hub. Spokes (Node, Bun, browsers) dial it with
 * @replic/transport-ws's `connectWebSocket`, unchanged: same hello, same HMAC proof of the shared
 * secret, same frames. Built for hibernation:
 * - sockets are accepted with `ctx.acceptWebSocket`, so the object may be evicted between
 *   messages while the sockets stay open; each socket's handshake state and peer id live in its
 *   attachment (`serializeAttachment`), and a woken object re-links every authenticated socket;
 * - heartbeats and gap repair run from the object's alarm (`replica.tick()`), not from a timer,
 *   and the alarm keeps firing while any socket is open;
 * - every write commits to the object's SQLite before the platform lets a reply out (output
 *   gates), so eviction or a crash loses no acknowledged write: what a spoke sent and did not see
 *   applied, it re-sends after the reconnect through anti-entropy.
 *
 * - bounds both ways per socket (socket-budget.ts): bytes sent and not yet acknowledged by a pong
 *   (a client that does not read gets no more than about twice `maxBufferedBytes`), and a budget
 *   of bytes and frames received per second (a flooding client is closed with 4429).
 *
 * An application subclasses it, overrides `config(env)` (a method, so the base constructor sees
 * it) and exports the class from its worker.
 */
import type { Logger, Replica, ReplicaOptions } from "@replic/core";
import { isReplicError, ReplicError } from "@replic/core";
import { decodeControl, encodeControl, isControlFrame, TRANSPORT_VERSION, webCryptoAuth } from "@replic/transport-ws/browser";
import { openReplica } from "./open.js";
import { CLOSE, emptyCounters, renderHubMetrics, type HubCounters } from "./hub-metrics.js";
import { SocketBudget } from "./socket-budget.js";
import type { DurableObjectSqlStorage } from "./storage-types.js";

/** A server-side WebSocket of the hibernation API, reduced to what the hub uses. */
export interface HubSocket {
  send(data: ArrayBuffer | ArrayBufferView | string): void;
  close(code?: number, reason?: string): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

/** `ctx` of a Durable Object, reduced to what the hub uses. */
export interface HubState {
  readonly storage: DurableObjectSqlStorage;
  acceptWebSocket(ws: HubSocket, tags?: string[]): void;
  getWebSockets(tag?: string): HubSocket[];
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

export interface HubConfig {
  /** Shared secret of the transport-ws handshake; spokes pass the same `secret`. */
  secret?: string;
  /** Run at every start of the object, before any request (blockConcurrencyWhile). */
  migrations?: { up: string; down: string }[];
  /** Options of the hub's replica; `heartbeatMs` is forced to 0 (the alarm drives `tick()`). */
  replica?: Omit<ReplicaOptions, "heartbeatMs">;
  /** Upgrades are accepted on this path only. Default "/replic"; "*" accepts any. */
  path?: string;
  /** Period of the alarm that runs heartbeats and gap repair. Default 1000 ms. */
  heartbeatMs?: number;
  /** A frame larger than this closes its socket (1009). Default 16 MiB, as @replic/transport-ws. */
  maxMessageBytes?: number;
  /**
   * Bytes sent to a socket and not yet acknowledged (by the pong to the ping the hub sends past
   * half of it): over it, replic patch messages to that socket are withheld; over twice it, every
   * replic message is. Anti-entropy repairs them once the client reads again. Default 4 MiB, as
   * @replic/transport-ws's send-buffer bound.
   */
  maxBufferedBytes?: number;
  /** Received bytes per second per socket (burst: one second, at least one largest frame); beyond it the socket is closed with 4429. Default 32 MiB. */
  maxInboundBytesPerSecond?: number;
  /** Received frames per second per socket (burst: one second); beyond it the socket is closed with 4429. Default 2000. */
  maxInboundFramesPerSecond?: number;
  /** The handshake must finish within this many ms. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** A socket silent this long is closed as dead (a spoke that hears nothing pings every 10 s). Default 30 000. */
  deadAfterMs?: number;
  /** Checked before the upgrade; false (or a throw) refuses it with 401. */
  authenticate?: (request: Request) => boolean | Promise<boolean>;
  logger?: Logger;
}

/** What a socket's attachment holds across hibernation. */
interface SocketState {
  /** Our hello's nonce. */
  nonce: number[];
  /** When the socket was accepted (handshake deadline). */
  at: number;
  peer?: number;
  theirNonce?: number[];
  proofSent?: boolean;
  /** When the handshake completed; the newest linked socket of a peer sends to it. */
  linkedAt?: number;
}

type Resolved = Required<Omit<HubConfig, "secret" | "authenticate" | "migrations" | "replica">> &
  Pick<HubConfig, "secret" | "authenticate" | "migrations" | "replica">;

const NONCE_BYTES = 16;
/** Byte 0 of every replic message ("r"), and byte 2 of a patches message (docs/protocol.md). */
const REPLIC_MAGIC = 0x72;
const PATCHES_KIND = 1;

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new ReplicError("INVALID_OPTION", `${name} must be a positive number, got ${String(v)}`);
  }
  return v;
}

function resolve(c: HubConfig): Resolved {
  if (c.secret !== undefined && (typeof c.secret !== "string" || c.secret.length === 0)) {
    throw new ReplicError("INVALID_OPTION", "secret must be a non-empty string");
  }
  const path = c.path ?? "/replic";
  if (typeof path !== "string" || (path !== "*" && !path.startsWith("/"))) {
    throw new ReplicError("INVALID_OPTION", `path must start with "/" (or be "*"), got ${String(c.path)}`);
  }
  return {
    secret: c.secret,
    authenticate: c.authenticate,
    migrations: c.migrations,
    replica: c.replica,
    path,
    heartbeatMs: positive("heartbeatMs", c.heartbeatMs, 1000),
    maxMessageBytes: positive("maxMessageBytes", c.maxMessageBytes, 16 * 1024 * 1024),
    maxBufferedBytes: positive("maxBufferedBytes", c.maxBufferedBytes, 4 * 1024 * 1024),
    maxInboundBytesPerSecond: positive("maxInboundBytesPerSecond", c.maxInboundBytesPerSecond, 32 * 1024 * 1024),
    maxInboundFramesPerSecond: positive("maxInboundFramesPerSecond", c.maxInboundFramesPerSecond, 2000),
    handshakeTimeoutMs: positive("handshakeTimeoutMs", c.handshakeTimeoutMs, 10_000),
    deadAfterMs: positive("deadAfterMs", c.deadAfterMs, 30_000),
    logger: c.logger ?? console,
  };
}

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class ReplicHub<Env = unknown> {
  /** The hub's replica, open once the object has started. */
  replica!: Replica;
  protected readonly ctx: HubState;
  protected readonly env: Env;
  private opts!: Resolved;
  private readonly counters: HubCounters = emptyCounters();
  /** Which socket sends to each linked peer (rebuilt from attachments after a wake). */
  private readonly senders = new Map<number, HubSocket>();
  /** Frames of a socket are handled one after the other (the proof is async). */
  private readonly queues = new Map<HubSocket, Promise<void>>();
  private readonly lastSeen = new Map<HubSocket, number>();
  private readonly budgets = new Map<HubSocket, SocketBudget>();
  private readonly wokeAt = Date.now();

  constructor(ctx: HubState, env: Env) {
    this.ctx = ctx;
    this.env = env;
    void ctx.blockConcurrencyWhile(async () => {
      this.opts = resolve(this.config(env));
      this.replica = openReplica(ctx.storage, { ...this.opts.replica, heartbeatMs: 0 });
      if (this.opts.migrations) this.replica.migrate(this.opts.migrations);
      this.relink();
      if (this.ctx.getWebSockets().length > 0) await this.ensureAlarm();
    });
  }

  /** The hub's settings. Override it (as a method) to read secrets and options from `env`. */
  protected config(_env: Env): HubConfig {
    return {};
  }

  /**
   * Upgrades on the configured path become replic links; `GET <path>/status` and
   * `GET <path>/metrics` report. A subclass may route other requests before calling this.
   */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const base = this.opts.path === "*" ? url.pathname : this.opts.path;
    if (request.method === "GET" && url.pathname === `${base}/metrics`) {
      return new Response(this.metrics(), { headers: { "content-type": "text/plain; version=0.0.4" } });
    }
    if (request.method === "GET" && url.pathname === `${base}/status`) {
      const body = JSON.stringify(this.replica.status(), (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    if (this.opts.path !== "*" && url.pathname !== this.opts.path) return new Response("not found", { status: 404 });
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    if (this.opts.authenticate) {
      let ok = false;
      try {
        ok = (await this.opts.authenticate(request)) === true;
      } catch (err) {
        this.opts.logger.warn(`replic hub: authenticate hook threw: ${(err as Error)?.message ?? err}`);
      }
      if (!ok) {
        this.counters.authFailures++;
        return new Response("unauthorized", { status: 401 });
      }
    }
    const Pair = (globalThis as unknown as { WebSocketPair: new () => Record<0 | 1, HubSocket> }).WebSocketPair;
    const pair = new Pair();
    const client = pair[0];
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    const nonce = webCryptoAuth.nonce();
    const state: SocketState = { nonce: [...nonce], at: Date.now() };
    server.serializeAttachment(state);
    this.lastSeen.set(server, Date.now());
    this.send(server, encodeControl({ type: "hello", version: TRANSPORT_VERSION, peerId: this.replica.peerId, nonce }));
    await this.ensureAlarm();
    return new Response(null, { status: 101, webSocket: client } as ResponseInit);
  }

  /** Hibernation API: a frame from a socket (the object may just have been woken for it). */
  webSocketMessage(ws: HubSocket, message: ArrayBuffer | string): Promise<void> {
    const prev = this.queues.get(ws) ?? Promise.resolve();
    const next = prev.then(() => this.onMessage(ws, message)).catch((err: unknown) => {
      this.opts.logger.warn(`replic hub: frame handling failed: ${(err as Error)?.message ?? err}`);
    });
    this.queues.set(ws, next);
    return next;
  }

  webSocketClose(ws: HubSocket, code: number, reason: string): void {
    this.unlink(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? CLOSE.normal : code, reason);
    } catch {
      // Already closed on our side.
    }
  }

  webSocketError(ws: HubSocket): void {
    this.unlink(ws);
  }

  /** Alarm: one heartbeat / anti-entropy round, then the dead and stuck sockets go. */
  async alarm(): Promise<void> {
    this.replica.tick();
    const now = Date.now();
    for (const ws of this.ctx.getWebSockets()) {
      const st = this.state(ws);
      if (!st) continue;
      if (st.linkedAt === undefined && now - st.at > this.opts.handshakeTimeoutMs) {
        this.fail(ws, CLOSE.timeout, "handshake timed out");
      } else if (now - (this.lastSeen.get(ws) ?? this.wokeAt) > this.opts.deadAfterMs) {
        this.counters.deadLinks++;
        this.fail(ws, CLOSE.timeout, "no frame for too long: link presumed dead");
      } else if (now - (this.budgets.get(ws)?.pingAt ?? now) > this.opts.deadAfterMs) {
        this.counters.slowReaders++;
        this.fail(ws, CLOSE.timeout, "our ping unanswered for too long: the client does not read");
      }
    }
    if (this.ctx.getWebSockets().length > 0) await this.ctx.storage.setAlarm(Date.now() + this.opts.heartbeatMs);
  }

  /** Replica metrics and the hub's transport counters, Prometheus text. */
  metrics(): string {
    return this.replica.metrics() + renderHubMetrics(this.counters, this.senders.size);
  }

  private async ensureAlarm(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.opts.heartbeatMs);
  }

  private state(ws: HubSocket): SocketState | undefined {
    return (ws.deserializeAttachment() as SocketState | null) ?? undefined;
  }

  /** After a wake: every authenticated socket carries its peer again, the newest one sending. */
  private relink(): void {
    const newest = new Map<number, { ws: HubSocket; at: number }>();
    for (const ws of this.ctx.getWebSockets()) {
      const st = this.state(ws);
      if (st?.linkedAt === undefined || st.peer === undefined) continue;
      const cur = newest.get(st.peer);
      if (!cur || st.linkedAt >= cur.at) newest.set(st.peer, { ws, at: st.linkedAt });
    }
    for (const [peer, { ws }] of newest) this.setSender(peer, ws);
    if (newest.size > 0) this.replica.tick();
  }

  private setSender(peer: number, ws: HubSocket): void {
    this.senders.set(peer, ws);
    this.replica.addPeer(peer, (m) => this.sendReplic(peer, m));
  }

  private budget(ws: HubSocket): SocketBudget {
    let b = this.budgets.get(ws);
    if (!b) this.budgets.set(ws, (b = new SocketBudget(this.opts, Date.now())));
    return b;
  }

  private sendReplic(peer: number, bytes: Uint8Array): void {
    const ws = this.senders.get(peer);
    if (!ws) return;
    const b = this.budget(ws);
    if (b.withholds(bytes[0] === REPLIC_MAGIC && bytes[2] === PATCHES_KIND)) {
      this.counters.withheld++;
      return;
    }
    this.send(ws, bytes);
    if (b.wantsPing(Date.now())) this.send(ws, encodeControl({ type: "ping" }));
  }

  private send(ws: HubSocket, bytes: Uint8Array): void {
    try {
      ws.send(bytes);
      this.counters.bytesOut += bytes.length;
      this.budgets.get(ws)?.sent(bytes.length);
    } catch (err) {
      this.opts.logger.warn(`replic hub: send failed: ${(err as Error)?.message ?? err}`);
      this.unlink(ws);
    }
  }

  private async onMessage(ws: HubSocket, message: ArrayBuffer | string): Promise<void> {
    const st = this.state(ws);
    if (!st) return; // closed meanwhile
    this.lastSeen.set(ws, Date.now());
    if (typeof message === "string") {
      this.counters.badFrames++;
      this.opts.logger.warn("replic hub: text frame ignored (the protocol is binary)");
      return;
    }
    const bytes = toBytes(message);
    this.counters.bytesIn += bytes.length;
    if (bytes.length > this.opts.maxMessageBytes) {
      this.counters.oversized++;
      return this.fail(ws, CLOSE.tooBig, `frame of ${bytes.length} bytes over the ${this.opts.maxMessageBytes}-byte limit`);
    }
    if (!this.budget(ws).take(bytes.length, Date.now())) {
      this.counters.floods++;
      const { maxInboundBytesPerSecond: bps, maxInboundFramesPerSecond: fps } = this.opts;
      return this.fail(ws, CLOSE.flood, `sending over the budget of ${bps} bytes and ${fps} frames per second`);
    }
    if (!isControlFrame(bytes)) {
      if (st.linkedAt === undefined || st.peer === undefined) {
        this.counters.authFailures++;
        return this.fail(ws, CLOSE.auth, "replic message before authentication");
      }
      try {
        this.replica.receive(st.peer, bytes);
      } catch (err) {
        // Refused whole (the replica changed nothing); counted by the error's code.
        this.counters.badFrames++;
        const code = isReplicError(err) ? err.code : "OTHER";
        this.counters.refused[code] = (this.counters.refused[code] ?? 0) + 1;
        this.opts.logger.warn(`replic hub: frame from peer ${st.peer} refused: ${(err as Error)?.message ?? err}`);
      }
      return;
    }
    let frame;
    try {
      frame = decodeControl(bytes);
    } catch (err) {
      this.counters.badFrames++;
      if (st.linkedAt === undefined) return this.fail(ws, CLOSE.protocol, `bad handshake frame: ${(err as Error).message}`);
      this.opts.logger.warn(`replic hub: bad control frame: ${(err as Error).message}`);
      return;
    }
    switch (frame.type) {
      case "ping":
        return this.send(ws, encodeControl({ type: "pong" }));
      case "pong": {
        // Still over half the bound (more went out after our ping): ask again at once, or no
        // further send would ever carry a ping.
        const b = this.budget(ws);
        if (b.pong() && b.wantsPing(Date.now())) this.send(ws, encodeControl({ type: "ping" }));
        return;
      }
      case "hello": {
        if (st.peer !== undefined) return this.fail(ws, CLOSE.protocol, "unexpected hello");
        if (frame.version !== TRANSPORT_VERSION) return this.fail(ws, CLOSE.protocol, `unsupported transport version ${frame.version}`);
        if (frame.peerId === this.replica.peerId) return this.fail(ws, CLOSE.protocol, `remote has our own peer id ${frame.peerId}`);
        st.peer = frame.peerId;
        st.theirNonce = [...frame.nonce];
        const secret = this.opts.secret;
        const proof = secret ? await webCryptoAuth.proof(secret, frame.nonce, this.replica.peerId, frame.peerId) : new Uint8Array(0);
        st.proofSent = true;
        ws.serializeAttachment(st);
        return this.send(ws, encodeControl({ type: "auth", proof }));
      }
      case "auth": {
        if (st.linkedAt !== undefined || st.peer === undefined || !st.proofSent) return this.fail(ws, CLOSE.protocol, "unexpected auth frame");
        const secret = this.opts.secret;
        const ok = secret ? await webCryptoAuth.verify(secret, new Uint8Array(st.nonce), st.peer, this.replica.peerId, frame.proof) : true;
        if (!ok) {
          this.counters.authFailures++;
          return this.fail(ws, CLOSE.auth, "authentication failed (wrong or missing secret)");
        }
        st.linkedAt = Date.now();
        ws.serializeAttachment(st);
        this.counters.links++;
        this.setSender(st.peer, ws);
        // Heads now, not at the next alarm: the spoke learns at once what the hub lacks.
        this.replica.tick();
        return;
      }
    }
  }

  private fail(ws: HubSocket, code: number, reason: string): void {
    this.opts.logger.warn(`replic hub: closing a link: ${reason}`);
    this.unlink(ws);
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // Already closed.
    }
  }

  /** Forgets a socket; its peer falls back to its next newest socket, or is removed. */
  private unlink(ws: HubSocket): void {
    const st = this.state(ws);
    this.queues.delete(ws);
    this.lastSeen.delete(ws);
    this.budgets.delete(ws);
    try {
      ws.serializeAttachment(null);
    } catch {
      // A socket that is gone keeps no attachment.
    }
    if (st?.peer === undefined || st.linkedAt === undefined) return;
    if (this.senders.get(st.peer) !== ws) return;
    this.senders.delete(st.peer);
    let next: { ws: HubSocket; at: number } | undefined;
    for (const other of this.ctx.getWebSockets()) {
      if (other === ws) continue;
      const o = this.state(other);
      if (o?.peer === st.peer && o.linkedAt !== undefined && (!next || o.linkedAt >= next.at)) next = { ws: other, at: o.linkedAt };
    }
    if (next) this.setSender(st.peer, next.ws);
    else this.replica.removePeer(st.peer);
  }
}
