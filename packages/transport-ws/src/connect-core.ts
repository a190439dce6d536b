/**
 * The client link, whatever the runtime: dials, links through the handshake, and re-dials with
 * jittered exponential back-off whenever the link is lost, until close(). The socket and the
 * handshake's crypto come from the entry point (Node/Bun: connect.ts; browsers: browser.ts).
 * A refused handshake is an AuthFailedError: counted, logged once per back-off step, handed to
 * linked() and to `auth_failed` listeners; the back-off keeps growing until a handshake passes.
 */
import { ReplicError } from "@replic/core";
import { AuthFailedError } from "./auth-error.js";
import { backoffDelay } from "./backoff.js";
import type { AuthScheme } from "./auth-scheme.js";
import type { DialOptions, SocketEvents } from "./client-socket-types.js";
import { LinkCounters, renderMetrics } from "./metrics.js";
import { resolveLinkOptions, type LinkOptions, type LinkableReplica } from "./options.js";
import { CLOSE, PeerLink, type AuthRefusal, type WireSocket } from "./peer-link.js";

export interface ConnectOptions extends LinkOptions {
  /** Extra HTTP headers of the upgrade request (for an authenticate hook, say). */
  headers?: Record<string, string>;
  /** Back-off of re-dials: first delay and ceiling in ms. Default 100 and 10 000. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

/**
 * Where the link is: dialling for the first time, linked, lost and re-dialling, refused by
 * authentication at the last try (and re-dialling), or closed by close().
 */
export type LinkState = "connecting" | "connected" | "reconnecting" | "auth_failed" | "closed";

export interface LinkStateChange {
  state: LinkState;
  previous: LinkState;
  /** Why the last connection ended (absent for "connected"). */
  reason?: string;
  /** When the next dial starts (ms from now), in "reconnecting" and "auth_failed". */
  retryInMs?: number;
}

export interface LinkEvents {
  /** Every change of `state`. */
  state: LinkStateChange;
  /** Every refused handshake (one per dial, and dials back off). */
  auth_failed: AuthFailedError;
}

export interface WebSocketLink {
  /** True while the handshake is done and the link carries replic messages. */
  readonly connected: boolean;
  /** The link's state now; `on("state")` hears every change. */
  readonly state: LinkState;
  /** The last refused handshake, until a handshake passes. */
  readonly authError: AuthFailedError | undefined;
  /** Listens to a link event; returns an unsubscribe function. */
  on<E extends keyof LinkEvents>(event: E, listener: (e: LinkEvents[E]) => void): () => void;
  /** The server replica's peer id, once a handshake completed. */
  readonly remotePeerId: number | undefined;
  /** This link's transport metrics, Prometheus text. */
  metrics(): string;
  /**
   * Resolves with the server's peer id at the next successful handshake (at once if linked now);
   * rejects with an AuthFailedError (code AUTH_FAILED) when that handshake is refused, at once if
   * the last one was.
   */
  linked(): Promise<number>;
  /** Stops re-dialling and closes the socket. */
  close(): Promise<void>;
}

/** What a runtime supplies: how to open a socket, and the handshake's crypto. */
export interface ClientRuntime {
  dial(url: string, opts: DialOptions, on: SocketEvents): WireSocket;
  auth: AuthScheme;
}

export function connectWith(runtime: ClientRuntime, replica: LinkableReplica, url: string, options: ConnectOptions = {}): WebSocketLink {
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
  let waiters: Array<{ resolve: (peer: number) => void; reject: (err: Error) => void }> = [];
  let state: LinkState = "connecting";
  let authError: AuthFailedError | undefined;
  const listeners: { [E in keyof LinkEvents]: Set<(e: LinkEvents[E]) => void> } = { state: new Set(), auth_failed: new Set() };
  const emit = <E extends keyof LinkEvents>(event: E, payload: LinkEvents[E]): void => {
    for (const l of listeners[event]) {
      try {
        l(payload);
      } catch (err) {
        opts.logger.warn(`replic ws: a ${event} listener threw: ${(err as Error)?.message ?? err}`);
      }
    }
  };
  const setState = (next: LinkState, reason?: string, retryInMs?: number): void => {
    if (next === state) return;
    const previous = state;
    state = next;
    emit("state", { state: next, previous, ...(reason !== undefined ? { reason } : {}), ...(retryInMs !== undefined ? { retryInMs } : {}) });
  };

  let socketAlive = false;
  const connect = (): void => {
    if (stopped) return;
    let opened = false;
    let upgradeRefusal: string | undefined;
    socketAlive = true;
    const socket = runtime.dial(url, { headers: options.headers, maxPayload: opts.maxMessageBytes * 2 + 1024 }, {
      open: () => {
        opened = true;
        current.start();
      },
      data: (d) => current.onData(d),
      close: (code, reason) => {
        socketAlive = false;
        if (!opened && upgradeRefusal !== undefined) {
          // Refused before any link existed: counted and reported here, first.
          counters.authFailures++;
          ended(upgradeRefusal, { reason: upgradeRefusal, refusedBy: "remote" });
        }
        current.onSocketClosed(code, reason); // its close hook reports any other end of this dial
        onSocketGone?.();
      },
      error: (message) => {
        if (/max payload/i.test(message)) counters.oversized++;
        // The `ws` client reports an HTTP refusal of the upgrade (an authenticate hook) this way.
        if (!opened && /\b(401|403)\b/.test(message)) upgradeRefusal = `the server refused the upgrade: ${message}`;
        opts.logger.debug?.(`replic ws: ${url}: ${message}`);
      },
    });
    const current = new PeerLink(replica, socket, opts, {
      counters: () => counters,
      reportsAuthFailures: true,
      onLinked: (peer) => {
        remotePeerId = peer;
        attempt = 0;
        authError = undefined;
        if (everLinked) counters.reconnects++;
        everLinked = true;
        setState("connected");
        const w = waiters;
        waiters = [];
        for (const f of w) f.resolve(peer);
      },
      onClosed: (reason, auth) => ended(reason, auth),
    }, runtime.auth);
    link = current;
  };

  let retryPending = false;
  /** One dial is over (lost, never opened, or refused): report it and schedule the next. */
  const ended = (reason: string, auth: AuthRefusal | undefined): void => {
    if (stopped || retryPending) return;
    retryPending = true;
    const delay = backoffDelay(attempt++, baseMs, maxMs);
    timer = setTimeout(() => {
      retryPending = false;
      connect();
    }, delay);
    if (!auth) {
      setState("reconnecting", reason, delay);
      return;
    }
    const err = new AuthFailedError(
      auth.refusedBy === "remote" ? `${url} refused this client: ${auth.reason}` : `the server at ${url} failed this client's check: ${auth.reason}`,
      auth.refusedBy,
    );
    authError = err;
    // One line per refused dial; the dials back off, so this is once per back-off step.
    opts.logger.warn(`replic ws: ${err.message}; next try in ${delay} ms`);
    setState("auth_failed", auth.reason, delay);
    emit("auth_failed", err);
    const w = waiters;
    waiters = [];
    for (const f of w) f.reject(err);
  };

  connect();

  return {
    get connected() {
      return link?.linked ?? false;
    },
    get state() {
      return state;
    },
    get authError() {
      return authError;
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => void set.delete(listener);
    },
    get remotePeerId() {
      return remotePeerId;
    },
    metrics: () => renderMetrics([[{ role: "client", url, peer: remotePeerId === undefined ? "" : String(remotePeerId) }, counters]]),
    linked: () => {
      if (link?.linked && remotePeerId !== undefined) return Promise.resolve(remotePeerId);
      if (state === "auth_failed" && authError) return Promise.reject(authError);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      setState("closed", "closed by close()");
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
