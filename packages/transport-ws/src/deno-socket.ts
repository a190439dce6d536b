/**
 * Deno's global WebSocket as a WireSocket. Deno resolves this package's Node entry, where the
 * `ws` client would run on Deno's node:http emulation; its own WebSocket is the native one, and
 * takes upgrade headers as an extension of the standard constructor. Like browsers it accepts
 * only close codes 1000 and 3000–4999, so protocol codes (1002, 1009) go as 1000 with their
 * reason, and it has no terminate(): close() stands in.
 */
import type { DialOptions, SocketEvents } from "./client-socket-types.js";
import type { WireSocket } from "./peer-link.js";

export function denoGlobal(): object | undefined {
  return (globalThis as { Deno?: object }).Deno;
}

export function dialDeno(url: string, opts: DialOptions, on: SocketEvents): WireSocket {
  const DenoWebSocket = WebSocket as unknown as new (url: string, init: { headers?: Record<string, string> }) => WebSocket;
  const ws = new DenoWebSocket(url, { headers: opts.headers });
  ws.binaryType = "arraybuffer";
  ws.onopen = () => on.open();
  ws.onmessage = (ev: MessageEvent) => on.data(typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
  ws.onclose = (ev: CloseEvent) => on.close(ev.code, ev.reason);
  ws.onerror = () => on.error("WebSocket error");
  const allowed = (code: number) => code === 1000 || (code >= 3000 && code <= 4999);
  return {
    send: (bytes) => ws.send(bytes),
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => ws.close(allowed(code) ? code : 1000, reason),
    terminate: () => ws.close(),
  };
}
