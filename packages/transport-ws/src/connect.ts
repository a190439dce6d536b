/**
 * connectWebSocket on Node (the `ws` package) and Bun (its global WebSocket), with node:crypto for
 * the shared-secret handshake. Browsers get the same function from "@replic/transport-ws/browser".
 */
import { nodeAuth } from "./auth.js";
import { dial } from "./client-socket.js";
import { connectWith, type ConnectOptions, type WebSocketLink } from "./connect-core.js";
import type { LinkableReplica } from "./options.js";

export type { ConnectOptions, WebSocketLink, LinkState, LinkStateChange, LinkEvents } from "./connect-core.js";

export function connectWebSocket(replica: LinkableReplica, url: string, options: ConnectOptions = {}): WebSocketLink {
  return connectWith({ dial, auth: nodeAuth }, replica, url, options);
}
