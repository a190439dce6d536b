/**
 * joinNats: a replica becomes a member of a cluster on a NATS server. No peer list: members find
 * each other by a hello on the cluster subject (and by any message they publish there).
 *
 * Routing, so each message crosses NATS once where it can:
 *  - heartbeats and local write batches: published once on the cluster subject, which every member
 *    hears (the replica hands the transport one copy per member; identical copies are published once);
 *  - gap requests and the repairs answering them: to the one peer's own subject;
 *  - relays (patches a replica would forward after merging someone else's batch) are not sent: every
 *    member heard the original, and anti-entropy asks for whatever it missed.
 *
 * Liveness: a member is heard through anything it publishes. An idle replica sends heartbeats only
 * every few rounds (quiet links), so a member that has published nothing on the cluster subject for
 * half of `silenceMs` says hello to each member directly (no answer is due), and is not unlinked.
 *
 * Credentials the server refuses are an AuthFailedError: joinNats rejects with it, and later (a
 * server restarted or reloaded with other credentials) the membership counts it, logs it once per
 * back-off step and re-dials with a growing delay instead of the client's fixed 250 ms.
 */
import { connect, Events, type NatsConnection, type Subscription } from "nats";
import { ReplicError, type Logger, type Scope } from "@replic/core";
import { AuthFailedError, isNatsAuthError } from "./auth-error.js";
import { backoffDelay } from "./backoff.js";
import { decodeFrame, encodeFrame, type NatsFrame } from "./frame.js";
import { NatsCounters, renderNatsMetrics } from "./metrics.js";
import { subjectsFor } from "./subjects.js";

/** The part of a Replica this transport drives. */
export interface LinkableReplica {
  readonly peerId: number;
  /** `allow`: the widest scope that neighbour may write here (docs/scopes.md). */
  addPeer(peerId: number, send: (message: Uint8Array) => void, options?: { allow?: Scope }): void;
  removePeer(peerId: number): void;
  receive(fromPeerId: number, message: Uint8Array): void;
  tick(): void;
}

export interface NatsOptions {
  /** NATS server URL(s), e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
  /** Cluster name: members of the same cluster replicate with each other. */
  cluster: string;
  /** First token(s) of every subject. Default "replic". */
  subjectPrefix?: string;
  /**
   * A member not heard from for this long (ms) is unlinked. Default 30 000: an idle member publishes
   * a heartbeat every 10 s (`idleHeartbeatEvery` 10 at 1 s rounds), under half of it, so idle
   * members need no keepalive hellos.
   */
  silenceMs?: number;
  /** Extra options for the `nats` client's connect() (credentials, TLS, ...). */
  connectOptions?: Record<string, unknown>;
  /** Re-dials after refused credentials back off from this delay to this ceiling (ms). Default 500 and 30 000. */
  authRetryBaseMs?: number;
  authRetryMaxMs?: number;
  /**
   * Asked when a member is first heard (and again after silenceMs when it refused it): true links
   * it, `{ allow }` links it with that scope as the replica's addPeer allow (its messages with a
   * patch outside are refused whole, OUT_OF_SCOPE), false or a throw does not link it (counted,
   * logged; its messages are dropped). Default: every member of the cluster is linked.
   */
  authenticate?: (peerId: number) => AuthResult | Promise<AuthResult>;
  logger?: Logger;
}

/** What an authenticate hook answers: true (anything), `{ allow }` (at most that scope), or false (refused). */
export type AuthResult = boolean | { allow?: Scope };

/** Connected; lost and re-dialling; refused credentials at the last try (re-dialling); closed by close(). */
export type MembershipState = "connected" | "reconnecting" | "auth_failed" | "closed";

export interface MembershipStateChange {
  state: MembershipState;
  previous: MembershipState;
  reason?: string;
  /** When the next dial starts (ms from now), in "auth_failed". */
  retryInMs?: number;
}

export interface MembershipEvents {
  state: MembershipStateChange;
  /** Every dial whose credentials the server refused. */
  auth_failed: AuthFailedError;
}

export interface NatsMembership {
  /** Peer ids of the members linked now. */
  readonly members: number[];
  /** The connection to the NATS server now; `on("state")` hears every change. */
  readonly state: MembershipState;
  /** The last refusal of the credentials, until a dial passes. */
  readonly authError: AuthFailedError | undefined;
  /** Listens to a membership event; returns an unsubscribe function. */
  on<E extends keyof MembershipEvents>(event: E, listener: (e: MembershipEvents[E]) => void): () => void;
  metrics(): string;
  /** Says bye, unlinks every member and closes the NATS connection. */
  close(): Promise<void>;
}

const PATCHES = 1;
const HEARTBEAT = 2;
/** Members linked within this many ms share one round. */
const LINK_ROUND_DELAY_MS = 50;

export async function joinNats(replica: LinkableReplica, options: NatsOptions): Promise<NatsMembership> {
  if (!options || (typeof options.servers !== "string" && !Array.isArray(options.servers))) {
    throw new ReplicError("INVALID_OPTION", "joinNats needs servers, e.g. \"nats://127.0.0.1:4222\"");
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== "function") throw new ReplicError("INVALID_OPTION", "authenticate must be a function");
  const subjects = subjectsFor(options.subjectPrefix ?? "replic", options.cluster);
  const silenceMs = options.silenceMs ?? 30_000;
  const logger = options.logger ?? console;
  const me = replica.peerId;
  const c = new NatsCounters();
  const lastSeen = new Map<number, number>();
  let closed = false;
  const authBaseMs = positive("authRetryBaseMs", options.authRetryBaseMs, 500);
  const authMaxMs = positive("authRetryMaxMs", options.authRetryMaxMs, 30_000);
  const where = Array.isArray(options.servers) ? options.servers.join(", ") : options.servers;

  // Refused credentials set the next dial's delay (fixed per attempt, so the client's dial loop,
  // which asks again each turn, always gets the same answer); anything else keeps 250 ms ± 250.
  let authAttempts = 0;
  let authDelay = 0;
  const reconnectDelayHandler = (): number => (authAttempts > 0 ? authDelay : 250 + Math.floor(Math.random() * 251));

  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: `replic-${options.cluster}-${me}`,
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler,
      pingInterval: 5_000,
      ...options.connectOptions,
      // Refused credentials never end the membership: it backs off and tries again (rotations).
      ignoreAuthErrorAbort: true,
    });
  } catch (err) {
    if (!isNatsAuthError(err)) throw err;
    const refused = new AuthFailedError(`the NATS server at ${where} refused the credentials: ${(err as Error).message}`, { cause: err });
    logger.warn(`replic nats: ${refused.message}`);
    throw refused;
  }

  let state: MembershipState = "connected";
  let authError: AuthFailedError | undefined;
  const listeners: { [E in keyof MembershipEvents]: Set<(e: MembershipEvents[E]) => void> } = { state: new Set(), auth_failed: new Set() };
  const emit = <E extends keyof MembershipEvents>(event: E, payload: MembershipEvents[E]): void => {
    for (const l of listeners[event]) {
      try {
        l(payload);
      } catch (err) {
        logger.warn(`replic nats: a ${event} listener threw: ${(err as Error)?.message ?? err}`);
      }
    }
  };
  const setState = (next: MembershipState, reason?: string, retryInMs?: number): void => {
    if (next === state) return;
    const previous = state;
    state = next;
    emit("state", { state: next, previous, ...(reason !== undefined ? { reason } : {}), ...(retryInMs !== undefined ? { retryInMs } : {}) });
  };
  const onAuthRefused = (code: string): void => {
    c.authFailures++;
    authDelay = backoffDelay(authAttempts++, authBaseMs, authMaxMs);
    const err = new AuthFailedError(`the NATS server at ${where} refused the credentials (${code})`);
    authError = err;
    // One line per refused dial; the dials back off, so this is once per back-off step.
    logger.warn(`replic nats: ${err.message}; next try in ${authDelay} ms`);
    setState("auth_failed", code, authDelay);
    emit("auth_failed", err);
  };

  let lastClusterPublish = Date.now();
  const publish = (subject: string, frame: NatsFrame): boolean => {
    if (closed || nc.isClosed()) return false;
    const bytes = encodeFrame(frame);
    const max = nc.info?.max_payload ?? 1024 * 1024;
    if (bytes.length > max) {
      c.oversized++;
      logger.warn(`replic nats: a ${bytes.length}-byte message exceeds the server's max_payload (${max}); lower the replica's maxBatchPatches or raise max_payload`);
      return false;
    }
    try {
      nc.publish(subject, bytes);
      c.bytesOut += bytes.length;
      if (subject === subjects.all) lastClusterPublish = Date.now();
      return true;
    } catch (err) {
      c.publishErrors++;
      logger.warn(`replic nats: publish failed: ${(err as Error)?.message ?? err}`);
      return false;
    }
  };

  // What the replica is doing when it sends decides where a message goes (see the file comment).
  let receiving: number | null = null;
  const sentHeartbeats = new WeakSet<Uint8Array>();
  let publishedThisTurn: Uint8Array[] | null = null;
  const publishOnceToCluster = (bytes: Uint8Array): void => {
    if (!publishedThisTurn) {
      publishedThisTurn = [];
      queueMicrotask(() => (publishedThisTurn = null));
    }
    if (publishedThisTurn.some((b) => sameBytes(b, bytes))) return;
    publishedThisTurn.push(bytes);
    if (publish(subjects.all, { type: "data", from: me, bytes })) c.publishedCluster++;
  };
  const sender = (peer: number) => (bytes: Uint8Array) => {
    const kind = bytes[2];
    if (kind === HEARTBEAT) {
      if (sentHeartbeats.has(bytes)) return;
      sentHeartbeats.add(bytes);
      if (publish(subjects.all, { type: "data", from: me, bytes })) c.publishedCluster++;
      return;
    }
    if (kind === PATCHES && receiving === PATCHES) {
      c.relaysSuppressed++;
      return;
    }
    if (kind === PATCHES && receiving === null) return publishOnceToCluster(bytes);
    if (publish(subjects.peer(peer), { type: "data", from: me, bytes })) c.publishedDirect++;
  };

  // Admission by the authenticate hook: members being decided, and refused ones until they may ask again.
  const admitting = new Set<number>();
  const refusedUntil = new Map<number, number>();
  const refusePeer = (peer: number, why: string): void => {
    c.peersRefused++;
    refusedUntil.set(peer, Date.now() + silenceMs);
    logger.warn(`replic nats: member ${peer} refused by authenticate${why}; its messages are dropped`);
  };
  const settle = (peer: number, answer: AuthResult): void => {
    if (closed || lastSeen.has(peer)) return;
    if (answer === true) linkPeer(peer, undefined);
    else if (typeof answer === "object" && answer !== null) linkPeer(peer, answer.allow);
    else refusePeer(peer, "");
  };
  const link = (peer: number): void => {
    if (lastSeen.has(peer) || closed) return;
    const authenticate = options.authenticate;
    if (!authenticate) return linkPeer(peer, undefined);
    if (admitting.has(peer) || (refusedUntil.get(peer) ?? 0) > Date.now()) return;
    let answer: AuthResult | Promise<AuthResult>;
    try {
      answer = authenticate(peer);
    } catch (err) {
      return refusePeer(peer, ` (it threw: ${(err as Error)?.message ?? err})`);
    }
    if (!(answer instanceof Promise)) return settle(peer, answer);
    admitting.add(peer);
    answer.then(
      (a) => {
        admitting.delete(peer);
        settle(peer, a);
      },
      (err: unknown) => {
        admitting.delete(peer);
        if (!closed) refusePeer(peer, ` (it threw: ${(err as Error)?.message ?? err})`);
      },
    );
  };
  const linkPeer = (peer: number, allow: Scope | undefined): void => {
    try {
      replica.addPeer(peer, sender(peer), allow === undefined ? undefined : { allow });
    } catch (err) {
      logger.warn(`replic nats: cannot link peer ${peer}: ${(err as Error)?.message ?? err}`);
      return;
    }
    lastSeen.set(peer, Date.now());
    c.members = lastSeen.size;
    roundSoon();
  };
  // Heads soon rather than at the next heartbeat. A round is heard by every member, so members
  // linked together (a cluster forming, a server restart) share one: a round per link would make
  // forming a cluster of N cost N³ heads.
  let roundTimer: ReturnType<typeof setTimeout> | undefined;
  const roundSoon = (): void => {
    if (roundTimer !== undefined) return;
    roundTimer = setTimeout(() => {
      roundTimer = undefined;
      if (closed) return;
      try {
        replica.tick();
      } catch {
        // closed replica, or inside a transaction: the next heartbeat exchanges heads
      }
    }, LINK_ROUND_DELAY_MS);
    (roundTimer as { unref?: () => void }).unref?.();
  };
  const unlink = (peer: number): void => {
    if (!lastSeen.delete(peer)) return;
    c.members = lastSeen.size;
    try {
      replica.removePeer(peer);
    } catch {
      // closed replica
    }
  };

  const onMessage = (data: Uint8Array, onClusterSubject: boolean): void => {
    c.bytesIn += data.length;
    let f: NatsFrame;
    try {
      f = decodeFrame(data);
    } catch (err) {
      c.badFrames++;
      logger.warn(`replic nats: bad frame: ${(err as Error).message}`);
      return;
    }
    if (f.from === me) return;
    if (f.type === "bye") return unlink(f.from);
    const known = lastSeen.has(f.from);
    if (!known) link(f.from);
    else lastSeen.set(f.from, Date.now());
    if (!lastSeen.has(f.from)) return; // not linked (refused or being decided by authenticate, or a closed replica)
    if (f.type !== "data") {
      // A newcomer announced itself on the cluster subject: introduce ourselves to it directly.
      if (onClusterSubject) publish(subjects.peer(f.from), { type: "hello", from: me });
      return;
    }
    receiving = f.bytes[2] ?? null;
    try {
      replica.receive(f.from, f.bytes);
    } catch (err) {
      c.badFrames++;
      logger.warn(`replic nats: message from peer ${f.from} refused: ${(err as Error)?.message ?? err}`);
    } finally {
      receiving = null;
    }
  };

  const subs: Subscription[] = [
    nc.subscribe(subjects.all, { callback: (err, msg) => void (err || onMessage(msg.data, true)) }),
    nc.subscribe(subjects.peer(me), { callback: (err, msg) => void (err || onMessage(msg.data, false)) }),
  ];
  await nc.flush(); // subscriptions are in place before we announce
  publish(subjects.all, { type: "hello", from: me });

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Error && isNatsAuthError(s.data)) onAuthRefused(String(s.data));
      else if (s.type === Events.Disconnect && state === "connected") setState("reconnecting", `disconnected from ${String(s.data)}`);
      if (s.type === Events.Reconnect) {
        authAttempts = 0;
        authError = undefined;
        setState("connected");
        c.reconnects++;
        // Whoever restarted with the server learns of us again; then exchange heads at once.
        publish(subjects.all, { type: "hello", from: me });
        try {
          replica.tick();
        } catch {
          // closed replica
        }
      }
    }
  })().catch(() => {});

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [peer, seen] of lastSeen) if (now - seen > silenceMs) unlink(peer);
    for (const [peer, until] of refusedUntil) if (until <= now) refusedUntil.delete(peer);
    if (now - lastClusterPublish > silenceMs / 2 && state === "connected") {
      lastClusterPublish = now;
      for (const peer of lastSeen.keys()) if (publish(subjects.peer(peer), { type: "hello", from: me })) c.keepAlives++;
    }
  }, Math.max(100, Math.floor(silenceMs / 4)));
  (sweeper as { unref?: () => void }).unref?.();

  return {
    get members() {
      return [...lastSeen.keys()];
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
    metrics: () => renderNatsMetrics(c, { cluster: options.cluster, peer: String(me) }),
    async close() {
      if (closed) return;
      publish(subjects.all, { type: "bye", from: me });
      closed = true;
      setState("closed", "closed by close()");
      clearInterval(sweeper);
      clearTimeout(roundTimer);
      for (const peer of [...lastSeen.keys()]) unlink(peer);
      for (const s of subs) s.unsubscribe();
      try {
        await nc.flush();
      } catch {
        // server gone: the bye is lost, silence will tell the others
      }
      await nc.close();
    },
  };
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new ReplicError("INVALID_OPTION", `${name} must be a positive number, got ${String(v)}`);
  return v;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false; // the CRC trailer differs first
  return true;
}

