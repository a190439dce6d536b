/**
 * Opens a client WebSocket on the runtime at hand: the global WebSocket under Bun and Deno, the
 * `ws` package on Node (Node 20 has no global WebSocket). Events arrive as plain callbacks.
 */
import { WebSocket as WsSocket } from "ws";
import { bunGlobal } from "./bun-types.js";
import { denoGlobal, dialDeno } from "./deno-socket.js";
import { wsSocket } from "./node-socket.js";
import type { WireSocket } from "./peer-link.js";

import type { DialOptions, SocketEvents } from "./client-socket-types.js";

export type { DialOptions, SocketEvents } from "./client-socket-types.js";

export function dial(url: string, opts: DialOptions, on: SocketEvents): WireSocket {
  if (bunGlobal()) return dialBun(url, opts, on);
  return denoGlobal() ? dialDeno(url, opts, on) : dialNode(url, opts, on);
}

function dialNode(url: string, opts: DialOptions, on: SocketEvents): WireSocket {
  const ws = new WsSocket(url, { maxPayload: opts.maxPayload, headers: opts.headers, perMessageDeflate: false });
  ws.on("open", () => on.open());
  ws.on("message", (d: Buffer, isBinary: boolean) => on.data(isBinary ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : d.toString()));
  ws.on("close", (code: number, reason: Buffer) => on.close(code, reason.toString()));
  ws.on("error", (err: Error) => on.error(err.message));
  return wsSocket(ws);
}

function dialBun(url: string, opts: DialOptions, on: SocketEvents): WireSocket {
  // Bun's WebSocket takes headers as an extension of the standard constructor.
  const BunWebSocket = WebSocket as unknown as new (url: string, init: { headers?: Record<string, string> }) => WebSocket & { terminate(): void };
  const ws = new BunWebSocket(url, { headers: opts.headers });
  ws.binaryType = "arraybuffer";
  ws.onopen = () => on.open();
  ws.onmessage = (ev: MessageEvent) => on.data(typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
  ws.onclose = (ev: CloseEvent) => on.close(ev.code, ev.reason);
  // Bun's error event says why (e.g. "Expected 101 status code: 401"): keep it.
  ws.onerror = (ev: Event) => on.error((ev as ErrorEvent).message || "WebSocket error");
  return {
    send: (bytes) => ws.send(bytes),
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}
