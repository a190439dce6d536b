// A bare WebSocket client that speaks only the transport-ws handshake (no secret) and then does
// what a test tells it: flood, stop reading, answer pings or not. Counts what it receives.
import WebSocket from "ws";
import { decodeControl, encodeControl, TRANSPORT_VERSION } from "@replic/transport-ws";

export class RawClient {
  readonly ws: WebSocket;
  received = 0;
  pings = 0;
  /** Answer the hub's pings (a reading client does). */
  answerPings = true;
  closed: Promise<{ code: number; reason: string }>;
  private linkedResolve!: () => void;
  readonly linked = new Promise<void>((r) => (this.linkedResolve = r));

  constructor(url: string, readonly peerId: number) {
    this.ws = new WebSocket(url);
    this.closed = new Promise((resolve) => this.ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on("error", () => {});
    this.ws.on("message", (data: Buffer) => this.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
  }

  private onFrame(bytes: Uint8Array): void {
    this.received += bytes.length;
    if (bytes[0] !== 0) return; // a replic message
    const f = decodeControl(bytes);
    if (f.type === "hello") {
      this.ws.send(encodeControl({ type: "hello", version: TRANSPORT_VERSION, peerId: this.peerId, nonce: new Uint8Array(16).fill(7) }));
    } else if (f.type === "auth") {
      this.ws.send(encodeControl({ type: "auth", proof: new Uint8Array(0) }));
      this.linkedResolve();
    } else if (f.type === "ping") {
      this.pings++;
      if (this.answerPings) this.ws.send(encodeControl({ type: "pong" }));
    }
  }

  pong(): void {
    this.ws.send(encodeControl({ type: "pong" }));
  }

  /** Stops reading the socket: what the hub sends piles up in the kernel and the runtime. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(): void {
    this.ws.terminate();
  }
}
