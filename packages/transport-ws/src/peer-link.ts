/**
 * One WebSocket, whatever the runtime: the handshake (hello, HMAC proof), then replic messages
 * both ways, with pings for dead-link detection, a size limit and a bounded send buffer. Server
 * and client, Node and Bun, all drive this same state machine through a WireSocket.
 */
import { authProof, newNonce, proofMatches } from "./auth.js";
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
  onClosed?(reason: string): void;
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
  private readonly nonce = newNonce();
  private theirNonce: Uint8Array | undefined;
  private proofSent = false;
  private lastSeen = Date.now();
  private pinger: ReturnType<typeof setInterval> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private c: LinkCounters;
  private readonly registered = { remotePeerId: 0, send: (m: Uint8Array) => this.sendReplic(m) };

  constructor(
    private readonly replica: LinkableReplica,
    private readonly socket: WireSocket,
    private readonly opts: ResolvedLinkOptions,
    private readonly hooks: PeerLinkHooks,
  ) {
    this.c = hooks.counters(undefined);
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
    if (isControlFrame(data)) return this.onControl(data);
    if (this.state !== "linked") {
      this.c.authFailures++;
      this.fail(CLOSE.auth, "replic message before authentication", false);
      return;
    }
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
    this.finish(`socket closed (${code}${reason ? ` ${reason}` : ""})`);
  }

  close(code: number = CLOSE.normal, reason = "closed"): void {
    if (this.state === "closed") return;
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
        this.sendControl({ type: "pong" });
        return;
      case "pong":
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
    const proof = this.opts.secret ? authProof(this.opts.secret, nonce, this.replica.peerId, peerId) : new Uint8Array(0);
    this.sendControl({ type: "auth", proof });
    this.proofSent = true;
  }

  private onAuth(proof: Uint8Array): void {
    if (this.state !== "handshake" || !this.theirNonce || !this.proofSent) return this.fail(CLOSE.protocol, "unexpected auth frame", false);
    if (this.opts.secret) {
      const expected = authProof(this.opts.secret, this.nonce, this.remotePeerId!, this.replica.peerId);
      if (!proofMatches(expected, proof)) {
        this.c.authFailures++;
        return this.fail(CLOSE.auth, "authentication failed (wrong or missing secret)", false);
      }
    }
    this.state = "linked";
    clearTimeout(this.handshakeTimer);
    this.c.connected++;
    try {
      attachLink(this.replica, this.registered);
    } catch (err) {
      // A closed replica cannot take links.
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
    this.sendControl({ type: "ping" });
  }

  private fail(code: number, reason: string, terminate: boolean): void {
    if (this.state === "closed") return;
    this.opts.logger.warn(`replic ws: closing link to ${this.who()}: ${reason}`);
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
    this.hooks.onClosed?.(reason);
  }

  private who(): string {
    return this.remotePeerId === undefined ? "an unidentified peer" : `peer ${this.remotePeerId}`;
  }
}

function unref(t: unknown): void {
  (t as { unref?: () => void }).unref?.();
}
