/** Options shared by the server and the client, and their defaults. */
import { ReplicError, type Logger, type Scope } from "@replic/core";

export interface LinkOptions {
  /** Shared secret: both sides prove they know it by an HMAC challenge; it never crosses the wire. */
  secret?: string;
  /** A frame larger than this closes its link (logged, counted). Default 16 MiB. */
  maxMessageBytes?: number;
  /** Bound of a socket's send buffer: over it, replic patch messages are dropped (counted) and
   * anti-entropy repairs them later; over twice it, every replic message is dropped. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** A link that delivered nothing since the last check is pinged this often (ms). Default 10 000. */
  pingIntervalMs?: number;
  /** A link silent for this long (ms) is closed as dead. Default 3 × pingIntervalMs. */
  deadAfterMs?: number;
  /** The handshake must finish within this many ms. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** Where warnings go (bad frames, auth failures, dead links). Default console. */
  logger?: Logger;
}

export interface ResolvedLinkOptions {
  secret: string | undefined;
  maxMessageBytes: number;
  maxBufferedBytes: number;
  pingIntervalMs: number;
  deadAfterMs: number;
  handshakeTimeoutMs: number;
  logger: Logger;
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new ReplicError("INVALID_OPTION", `${name} must be a positive number, got ${String(v)}`);
  }
  return v;
}

export function resolveLinkOptions(o: LinkOptions = {}): ResolvedLinkOptions {
  if (o.secret !== undefined && (typeof o.secret !== "string" || o.secret.length === 0)) {
    throw new ReplicError("INVALID_OPTION", "secret must be a non-empty string");
  }
  const pingIntervalMs = positive("pingIntervalMs", o.pingIntervalMs, 10_000);
  return {
    secret: o.secret,
    maxMessageBytes: positive("maxMessageBytes", o.maxMessageBytes, 16 * 1024 * 1024),
    maxBufferedBytes: positive("maxBufferedBytes", o.maxBufferedBytes, 4 * 1024 * 1024),
    pingIntervalMs,
    deadAfterMs: positive("deadAfterMs", o.deadAfterMs, 3 * pingIntervalMs),
    handshakeTimeoutMs: positive("handshakeTimeoutMs", o.handshakeTimeoutMs, 10_000),
    logger: o.logger ?? console,
  };
}

/** The part of a Replica a transport drives. */
export interface LinkableReplica {
  readonly peerId: number;
  /** `allow`: the widest scope that neighbour may write here (docs/scopes.md). */
  addPeer(peerId: number, send: (message: Uint8Array) => void, options?: { allow?: Scope }): void;
  removePeer(peerId: number): void;
  receive(fromPeerId: number, message: Uint8Array): void;
  tick(): void;
}
