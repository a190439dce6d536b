/**
 * The browser's global WebSocket as a WireSocket. Browsers cannot set upgrade headers or a
 * payload cap (the link checks sizes itself), and close() accepts only 1000 and 3000–4999, so
 * protocol codes such as 1002 or 1009 are sent as 1000 with their reason.
 */
import type { DialOptions, SocketEvents } from "./client-socket-types.js";
import type { WireSocket } from "./peer-link.js";

export function dialBrowser(url: string, _opts: DialOptions, on: SocketEvents): WireSocket {
  const ws = new WebSocket(url);
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
