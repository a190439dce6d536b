/** A `ws` WebSocket (Node, server or client side) as a WireSocket. */
import type { WebSocket as WsSocket } from "ws";
import type { WireSocket } from "./peer-link.js";

export function wsSocket(ws: WsSocket): WireSocket {
  return {
    send: (bytes) => ws.send(bytes, { binary: true }),
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}
