/**
 * @replic/transport-ws: replic over WebSocket, on Node (the `ws` package) and Bun (native), in
 * any combination. A handshake exchanges peer ids (and proves a shared secret), then the link
 * drives the replica's addPeer / receive / removePeer for you.
 */
export { serveWebSocket, type ServeOptions, type WebSocketServer } from "./serve.js";
export { connectWebSocket, type ConnectOptions, type WebSocketLink, type LinkState, type LinkStateChange, type LinkEvents } from "./connect.js";
export { AuthFailedError } from "./auth-error.js";
export { createBunHandler, type BunHandler } from "./bun-server.js";
export type { AuthResult, ServerOptions, UpgradeRequest } from "./server-core.js";
export type { LinkOptions, LinkableReplica } from "./options.js";
export { encodeControl, decodeControl, TRANSPORT_VERSION, type ControlFrame } from "./frames.js";
export { backoffDelay } from "./backoff.js";
