/**
 * One WebSocket, whatever the runtime: the handshake (hello, HMAC proof, acceptance), then replic
 * messages both ways, with pings for dead-link detection, a size limit and a bounded send buffer.
 * Server and client, Node and Bun, all drive this same state machine through a WireSocket.
 *
 * A side is linked once it has checked the other's proof AND knows the other accepted its own:
 * right after its proof it sends a ping, and peers handle frames in order, so the pong answering
 * it says "your proof passed" (a refusal closes with 4401 and a reason instead). A 0.1 peer links
 * as soon as it checked our proof and sends its heads before that pong: a replic message after
 * both proofs counts as its acceptance too. Nothing new is on the wire, so 0.1 peers link as before.
 */
import { isReplicError, type Scope } from "@replic/core";
import type { AuthScheme } from "./auth-scheme.js";
import { TRANSPORT_VERSION, decodeControl, encodeControl, isControlFrame, type ControlFrame } from "./frames.js";
import type { LinkCounters } from "./metrics.js";
import type { LinkableReplica, ResolvedLinkOptions } from "./options.js";
import { attachLink, detachLink } from "./peer-registry.js";

/** The runtime's socket, reduced to what a link needs. */
export interface WireSocket {
  send(bytes: Uint8Array): void;
  bufferedAmount(): number;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake (dead or hostile peer). */
  terminate(): void;
}

export interface PeerLinkHooks {
  /** Counters of this link; asked again once the remote peer id is known. */
  counters(remotePeerId: number | undefined): LinkCounters;
  onLinked?(remotePeerId: number): void;
  /** `auth` is set when the handshake ended in an authentication refusal, by either side. */
  onClosed?(reason: string, auth?: AuthRefusal): void;
  /** True: the owner reports authentication refusals itself (the client, once per back-off step). */
  reportsAuthFailures?: boolean;
}

/** Why a handshake was refused, and by whom. */
export interface AuthRefusal {
  reason: string;
  refusedBy: "remote" | "local";
}

const REPLIC_MAGIC = 0x72;
const PATCHES_KIND = 1;

/** Close codes (4xxx are the application's range). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocol: 1002,
  tooBig: 1009,
  auth: 4401,
  timeout: 4408,
} as const;

type State = "handshake" | "linked" | "closed";

export class PeerLink {
  remotePeerId: number | undefined;
  private state: State = "handshake";
  private readonly nonce: Uint8Array;
  private theirNonce: Uint8Array | undefined;
  private proofSent = false;
  /** We checked the other side's proof. */
  private theirProofOk = false;
  /** The other side accepted ours (its pong after our proof, or a replic message from a 0.1 peer). */
  private accepted = false;
  private refusal: AuthRefusal | undefined;
  private closingHere = false;
  private lastSeen = Date.now();
  /**
   * The peer sent a replic message or a ping of its own since the last liveness check: the link
   * is alive, no ping needed. A pong does not count, so a silent peer is pinged every interval and
   * deadAfterMs works whatever its ratio to pingIntervalMs.
   */
  private heardSinceCheck = false;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private c: LinkCounters;
  private readonly registered: { remotePeerId: number; send: (m: Uint8Array) => void; allow: Scope | undefined };
  /** Frames that arrived while an async proof was computed (WebCrypto), handled in order after it. */
  private backlog: Uint8Array[] = [];
  private waiting = false;
  private backlogBytes = 0;

  constructor(
    private readonly replica: LinkableReplica,
    private readonly socket: WireSocket,
    private readonly opts: ResolvedLinkOptions,
    private readonly hooks: PeerLinkHooks,
    private readonly auth: AuthScheme,
    /** What the peer behind this socket may write here (the server's authenticate hook); undefined: anything. */
    allow?: Scope,
  ) {
    this.registered = { remotePeerId: 0, send: (m: Uint8Array) => this.sendReplic(m), allow };
    this.c = hooks.counters(undefined);
    this.nonce = auth.nonce();
  }

  get linked(): boolean {
    return this.state === "linked";
  }

  /** Call once the socket is open. */
  start(): void {
    this.sendControl({ type: "hello", version: TRANSPORT_VERSION, peerId: this.replica.peerId, nonce: this.nonce });
    this.handshakeTimer = setTimeout(() => {
      if (this.state === "handshake") this.fail(CLOSE.timeout, "handshake timed out", false);
    }, this.opts.handshakeTimeoutMs);
    unref(this.handshakeTimer);
    this.pinger = setInterval(() => this.checkAlive(), this.opts.pingIntervalMs);
    unref(this.pinger);
  }

  /** Call for every frame the socket delivers. Never throws. */
  onData(data: Uint8Array | string): void {
    if (this.state === "closed") return;
    this.lastSeen = Date.now();
    if (typeof data === "string") {
      this.c.badFrames++;
      this.opts.logger.warn(`replic ws: text frame from ${this.who()} ignored (the protocol is binary)`);
      return;
    }
    this.c.bytesIn += data.length;
    this.c.messagesIn++;
    if (data.length > this.opts.maxMessageBytes) {
      this.c.oversized++;
      this.fail(CLOSE.tooBig, `frame of ${data.length} bytes over the ${this.opts.maxMessageBytes}-byte limit`, false);
      return;
    }
    if (this.waiting) {
      // Bounded like a send buffer: a peer that floods during the proof is closed.
      this.backlogBytes += data.length;
      if (this.backlogBytes > this.opts.maxBufferedBytes + this.opts.maxMessageBytes) {
        this.fail(CLOSE.protocol, "too many frames during the handshake", false);
        return;
      }
      this.backlog.push(data);
      return;
    }
    this.handle(data);
  }

  private handle(data: Uint8Array): void {
    if (this.state === "closed") return;
    if (isControlFrame(data)) return this.onControl(data);
    if (this.state !== "linked") {
      if (this.theirProofOk && this.proofSent) {
        // Only a linked peer sends replic messages: it accepted our proof (a 0.1 peer says so this way).
        this.accepted = true;
        this.maybeLinked();
      }
      if (!this.linked) {
        this.c.authFailures++;
        this.fail(CLOSE.auth, "replic message before authentication", false);
        return;
      }
    }
    this.heardSinceCheck = true;
    try {
      this.replica.receive(this.remotePeerId!, data);
    } catch (err) {
      // One bad frame (corrupt, or a patch of a newer schema) costs that frame only.
      this.c.badFrames++;
      this.opts.logger.warn(`replic ws: frame from peer ${this.remotePeerId} refused: ${(err as Error)?.message ?? err}`);
    }
  }

  /** Call when the socket reports it closed. */
  onSocketClosed(code: number, reason: string): void {
    if (code === CLOSE.auth && this.state === "handshake" && !this.closingHere) {
      // The other side refused our proof and said why in the close reason.
      this.c.authFailures++;
      this.refusal = { reason: reason || "authentication failed", refusedBy: "remote" };
      if (!this.hooks.reportsAuthFailures) this.opts.logger.warn(`replic ws: ${this.who()} refused our authentication: ${this.refusal.reason}`);
    }
    this.finish(`socket closed (${code}${reason ? ` ${reason}` : ""})`);
  }

  close(code: number = CLOSE.normal, reason = "closed"): void {
    if (this.state === "closed") return;
    this.closingHere = true; // Bun reports our own close synchronously: not the other side's refusal
    try {
      this.socket.close(code, reason.slice(0, 120)); // a close reason is at most 123 bytes
    } catch {
      this.socket.terminate();
    }
    this.finish(reason);
  }

  private onControl(data: Uint8Array): void {
    let frame: ControlFrame;
    try {
      frame = decodeControl(data);
    } catch (err) {
      this.c.badFrames++;
      if (this.state === "handshake") this.fail(CLOSE.protocol, `bad handshake frame: ${(err as Error).message}`, false);
      else this.opts.logger.warn(`replic ws: bad control frame from ${this.who()}: ${(err as Error).message}`);
      return;
    }
    switch (frame.type) {
      case "ping":
        this.heardSinceCheck = true;
        this.sendControl({ type: "pong" });
        return;
      case "pong":
        if (this.state === "handshake" && this.proofSent && !this.accepted) {
          this.accepted = true;
          this.maybeLinked();
        }
        return;
      case "hello":
        return this.onHello(frame.version, frame.peerId, frame.nonce);
      case "auth":
        return this.onAuth(frame.proof);
    }
  }

  private onHello(version: number, peerId: number, nonce: Uint8Array): void {
    if (this.state !== "handshake" || this.theirNonce) return this.fail(CLOSE.protocol, "unexpected hello", false);
    if (version !== TRANSPORT_VERSION) return this.fail(CLOSE.protocol, `unsupported transport version ${version}`, false);
    if (peerId === this.replica.peerId) return this.fail(CLOSE.protocol, `remote has our own peer id ${peerId}`, false);
    this.remotePeerId = peerId;
    this.registered.remotePeerId = peerId;
    this.theirNonce = nonce;
    this.c = this.hooks.counters(peerId);
    const secret = this.opts.secret;
    const proof = secret ? this.auth.proof(secret, nonce, this.replica.peerId, peerId) : new Uint8Array(0);
    this.then(proof, (p) => {
      this.sendControl({ type: "auth", proof: p });
      this.proofSent = true;
      this.sendControl({ type: "ping" }); // its pong is the other side's acceptance of the proof
    });
  }

  private onAuth(proof: Uint8Array): void {
    if (this.state !== "handshake" || !this.theirNonce || !this.proofSent) return this.fail(CLOSE.protocol, "unexpected auth frame", false);
    const secret = this.opts.secret;
    const ok = secret ? this.auth.verify(secret, this.nonce, this.remotePeerId!, this.replica.peerId, proof) : true;
    this.then(ok, (valid) => {
      if (!valid) {
        this.c.authFailures++;
        // The reason travels in the close frame: the other side reads why it was refused.
        const reason = proof.length === 0 ? "authentication failed: no proof sent (no secret set there; this side requires one)" : "authentication failed: wrong secret";
        this.refusal = { reason, refusedBy: "local" };
        return this.fail(CLOSE.auth, reason, false);
      }
      this.theirProofOk = true;
      this.maybeLinked();
    });
  }

  private maybeLinked(): void {
    if (this.state === "handshake" && this.theirProofOk && this.accepted) this.onAuthenticated();
  }

  /**
   * Runs `next` on a value at once, or once its promise settles; until then incoming frames wait
   * in the backlog, so an async proof keeps the handshake's order (Node's sync crypto never waits).
   */
  private then<T>(value: T | Promise<T>, next: (v: T) => void): void {
    if (!(value instanceof Promise)) return next(value);
    this.waiting = true;
    value.then(
      (v) => this.resume(() => next(v)),
      (err: unknown) => this.resume(() => this.fail(CLOSE.auth, `authentication could not be computed: ${(err as Error)?.message ?? err}`, false)),
    );
  }

  private resume(step: () => void): void {
    this.waiting = false;
    if (this.state === "closed") return;
    step();
    while (!this.waiting && this.backlog.length > 0) {
      const next = this.backlog.shift()!;
      this.backlogBytes -= next.length;
      this.handle(next);
    }
  }

  private onAuthenticated(): void {
    this.state = "linked";
    clearTimeout(this.handshakeTimer);
    this.c.connected++;
    try {
      attachLink(this.replica, this.registered);
    } catch (err) {
      // Another live link of this peer id was admitted with another allow: refused, never widened.
      if (isReplicError(err) && err.code === "AUTH_FAILED") {
        this.c.authFailures++;
        this.refusal = { reason: err.message, refusedBy: "local" };
        return this.fail(CLOSE.auth, err.message, false);
      }
      // A closed replica cannot take links (or an allow that does not fit its schema).
      return this.fail(CLOSE.goingAway, `replica refused the link: ${(err as Error).message}`, false);
    }
    this.hooks.onLinked?.(this.remotePeerId!);
  }

  private sendReplic(bytes: Uint8Array): void {
    if (this.state !== "linked") return;
    const buffered = this.socket.bufferedAmount();
    if (buffered > this.c.sendBufferPeak) this.c.sendBufferPeak = buffered;
    if (buffered > this.opts.maxBufferedBytes) {
      const isPatches = bytes[0] === REPLIC_MAGIC && bytes[2] === PATCHES_KIND;
      // Patches are the bulk and anti-entropy re-sends them; small heartbeats and requests keep
      // flowing up to twice the bound so the link can still ask for and advertise repairs.
      if (isPatches || buffered > 2 * this.opts.maxBufferedBytes) {
        this.c.dropped++;
        return;
      }
    }
    this.write(bytes);
  }

  private sendControl(frame: ControlFrame): void {
    this.write(encodeControl(frame));
  }

  private write(bytes: Uint8Array): void {
    try {
      this.socket.send(bytes);
      this.c.bytesOut += bytes.length;
      this.c.messagesOut++;
    } catch (err) {
      this.fail(CLOSE.goingAway, `send failed: ${(err as Error)?.message ?? err}`, true);
    }
  }

  private checkAlive(): void {
    if (this.state === "closed") return;
    if (Date.now() - this.lastSeen > this.opts.deadAfterMs) {
      this.c.deadLinks++;
      this.fail(CLOSE.timeout, `no frame for ${Date.now() - this.lastSeen} ms: link presumed dead`, true);
      return;
    }
    // Only linked sides ping on a timer: during the handshake a pong means acceptance. A link
    // whose peer spoke since the last check (heardSinceCheck) is alive: pinging it too made pings and pongs
    // most of an idle hub's work (each side answers the other's, four frames per link and interval).
    const heard = this.heardSinceCheck;
    this.heardSinceCheck = false;
    if (this.state === "linked" && !heard) this.sendControl({ type: "ping" });
  }

  private fail(code: number, reason: string, terminate: boolean): void {
    if (this.state === "closed") return;
    const reported = code === CLOSE.auth && this.refusal !== undefined && this.hooks.reportsAuthFailures;
    if (reported) this.opts.logger.debug?.(`replic ws: closing link to ${this.who()}: ${reason}`);
    else this.opts.logger.warn(`replic ws: closing link to ${this.who()}: ${reason}`);
    if (terminate) {
      this.socket.terminate();
      this.finish(reason);
    } else {
      this.close(code, reason);
    }
  }

  private finish(reason: string): void {
    if (this.state === "closed") return;
    const wasLinked = this.state === "linked";
    this.state = "closed";
    this.backlog = [];
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pinger);
    if (wasLinked) {
      this.c.connected--;
      try {
        detachLink(this.replica, this.registered);
      } catch {
        // The replica was closed first: nothing left to unlink.
      }
    }
    this.hooks.onClosed?.(reason, this.refusal);
  }

  private who(): string {
    return this.remotePeerId === undefined ? "an unidentified peer" : `peer ${this.remotePeerId}`;
  }
}

function unref(t: unknown): void {
  (t as { unref?: () => void }).unref?.();
}
