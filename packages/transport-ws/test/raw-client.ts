// A hand-driven client for fault tests: does the handshake (no secret), then lets the test send
// whatever bytes it likes and see what comes back.
import { WebSocket } from "ws";
import { TRANSPORT_VERSION, decodeControl, encodeControl, isControlFrame } from "../src/frames.js";

export interface RawClient {
  ws: WebSocket;
  received: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
}

export async function rawClient(url: string, peerId: number, opts: { proof?: Uint8Array } = {}): Promise<RawClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const received: Uint8Array[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => r({ code, reason: reason.toString() })));
  ws.on("error", () => {});
  ws.on("open", () => ws.send(encodeControl({ type: "hello", version: TRANSPORT_VERSION, peerId, nonce: new Uint8Array(16) })));
  ws.on("message", (d: Buffer) => {
    const bytes = new Uint8Array(d);
    if (isControlFrame(bytes) && decodeControl(bytes).type === "hello") ws.send(encodeControl({ type: "auth", proof: opts.proof ?? new Uint8Array(0) }));
    else if (isControlFrame(bytes) && decodeControl(bytes).type === "ping") ws.send(encodeControl({ type: "pong" }));
    received.push(bytes);
  });
  // The server's hello can arrive in the same chunk as the upgrade response: listen first.
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, received, closed };
}
