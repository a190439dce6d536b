/**
 * connectWebSocket: a client link that dials, links through the handshake, and re-dials with
 * jittered exponential back-off whenever the link is lost, until close().
 */
import { ReplicError } from "@replic/core";
import { backoffDelay } from "./backoff.js";
import { dial } from "./client-socket.js";
import { LinkCounters, renderMetrics } from "./metrics.js";
import { resolveLinkOptions, type LinkOptions, type LinkableReplica } from "./options.js";
import { CLOSE, PeerLink } from "./peer-link.js";

export interface ConnectOptions extends LinkOptions {
  /** Extra HTTP headers of the upgrade request (for an authenticate hook, say). */
  headers?: Record<string, string>;
  /** Back-off of re-dials: first delay and ceiling in ms. Default 100 and 10 000. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

export interface WebSocketLink {
  /** True while the handshake is done and the link carries replic messages. */
  readonly connected: boolean;
  /** The server replica's peer id, once a handshake completed. */
  readonly remotePeerId: number | undefined;
  /** This link's transport metrics, Prometheus text. */
  metrics(): string;
  /** Resolves at the next successful handshake (at once if linked now). */
  linked(): Promise<number>;
  /** Stops re-dialling and closes the socket. */
  close(): Promise<void>;
}

export function connectWebSocket(replica: LinkableReplica, url: string, options: ConnectOptions = {}): WebSocketLink {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ReplicError("INVALID_OPTION", `not a URL: ${String(url)}`);
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new ReplicError("INVALID_OPTION", `a replic WebSocket URL starts with ws:// or wss://, got ${url}`);
  }
  const opts = resolveLinkOptions(options);
  const baseMs = options.reconnectBaseMs ?? 100;
  const maxMs = options.reconnectMaxMs ?? 10_000;
  const counters = new LinkCounters();
  let remotePeerId: number | undefined;
  let link: PeerLink | undefined;
  let attempt = 0;
  let everLinked = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onSocketGone: (() => void) | undefined;
  let waiters: Array<(peer: number) => void> = [];

  let socketAlive = false;
  const connect = (): void => {
    if (stopped) return;
    let opened = false;
    socketAlive = true;
    const socket = dial(url, { headers: options.headers, maxPayload: opts.maxMessageBytes * 2 + 1024 }, {
      open: () => {
        opened = true;
        current.start();
      },
      data: (d) => current.onData(d),
      close: (code, reason) => {
        socketAlive = false;
        current.onSocketClosed(code, reason);
        onSocketGone?.();
        if (!opened) retry(); // never opened: no link close hook will fire
      },
      error: (message) => {
        if (/max payload/i.test(message)) counters.oversized++;
        opts.logger.debug?.(`replic ws: ${url}: ${message}`);
      },
    });
    const current = new PeerLink(replica, socket, opts, {
      counters: () => counters,
      onLinked: (peer) => {
        remotePeerId = peer;
        attempt = 0;
        if (everLinked) counters.reconnects++;
        everLinked = true;
        const w = waiters;
        waiters = [];
        for (const f of w) f(peer);
      },
      onClosed: () => retry(),
    });
    link = current;
  };

  let retryPending = false;
  const retry = (): void => {
    if (stopped || retryPending) return;
    retryPending = true;
    timer = setTimeout(() => {
      retryPending = false;
      connect();
    }, backoffDelay(attempt++, baseMs, maxMs));
  };

  connect();

  return {
    get connected() {
      return link?.linked ?? false;
    },
    get remotePeerId() {
      return remotePeerId;
    },
    metrics: () => renderMetrics([[{ role: "client", url, peer: remotePeerId === undefined ? "" : String(remotePeerId) }, counters]]),
    linked: () => (link?.linked && remotePeerId !== undefined ? Promise.resolve(remotePeerId) : new Promise((r) => waiters.push(r))),
    async close() {
      stopped = true;
      clearTimeout(timer);
      const l = link;
      if (!l || !socketAlive) return;
      const gone = new Promise<void>((r) => {
        onSocketGone = r;
        setTimeout(r, 2000).unref?.();
      });
      l.close(CLOSE.normal, "client closing");
      await gone;
    },
  };
}
