/**
 * @replic/transport-ws for browsers (and workers): the client only, on the global WebSocket, with
 * the shared-secret handshake on WebCrypto. Same frames and handshake as the Node and Bun client,
 * so it links to serveWebSocket on either. Imports no Node module (a test bundles it for the
 * browser platform). Chosen by bundlers through the "browser" export condition, or import
 * "@replic/transport-ws/browser" directly.
 */
import { ReplicError } from "@replic/core";
import { webCryptoAuth } from "./auth-webcrypto.js";
import { dialBrowser } from "./browser-socket.js";
import { connectWith, type ConnectOptions, type WebSocketLink } from "./connect-core.js";
import type { LinkableReplica } from "./options.js";

/** Browser sockets cannot carry upgrade headers: authenticate by `secret` or by a cookie. */
export type BrowserConnectOptions = Omit<ConnectOptions, "headers">;

export function connectWebSocket(replica: LinkableReplica, url: string, options: BrowserConnectOptions = {}): WebSocketLink {
  if ((options as ConnectOptions).headers !== undefined) {
    throw new ReplicError("INVALID_OPTION", "a browser WebSocket cannot send upgrade headers: use `secret`, or a cookie checked by the server's authenticate hook");
  }
  return connectWith({ dial: dialBrowser, auth: webCryptoAuth }, replica, url, options);
}

export type { WebSocketLink, LinkState, LinkStateChange, LinkEvents } from "./connect-core.js";
export { AuthFailedError } from "./auth-error.js";
export type { LinkOptions, LinkableReplica } from "./options.js";
export { encodeControl, decodeControl, isControlFrame, TRANSPORT_VERSION, type ControlFrame } from "./frames.js";
/** The handshake's HMAC on WebCrypto, for servers outside Node and Bun (a Durable Object hub). */
export { webCryptoAuth } from "./auth-webcrypto.js";
export type { AuthScheme } from "./auth-scheme.js";
export { backoffDelay } from "./backoff.js";
