/** serveWebSocket: a replic WebSocket server on Node (`ws`) or Bun (`Bun.serve`), picked at run time. */
import type { Server } from "node:http";
import { ReplicError } from "@replic/core";
import { bunGlobal } from "./bun-types.js";
import { serveBun } from "./bun-server.js";
import { serveNode } from "./node-server.js";
import type { LinkableReplica } from "./options.js";
import { ServerCore, type ServerOptions } from "./server-core.js";

export interface ServeOptions extends ServerOptions {
  /** Port to listen on; 0 picks a free one (read it from the result). Ignored with `server`. */
  port?: number;
  /** Interface to bind. Default "127.0.0.1". */
  host?: string;
  /** Attach to your own Node http/https Server (TLS, other routes) instead of listening. */
  server?: Server;
}

export interface WebSocketServer {
  /** The port actually listened on. */
  readonly port: number;
  /** Authenticated links now open. */
  readonly linkCount: number;
  /** Per-peer transport metrics, Prometheus text. */
  metrics(): string;
  /** Closes every link and stops listening (a user's `server` is left running). */
  close(): Promise<void>;
}

export async function serveWebSocket(replica: LinkableReplica, options: ServeOptions = {}): Promise<WebSocketServer> {
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new ReplicError("INVALID_OPTION", `port must be an integer in 0..65535, got ${String(options.port)}`);
  }
  const core = new ServerCore(replica, options);
  const handle = !options.server && bunGlobal() ? serveBun(core, options) : await serveNode(core, options);
  return {
    port: handle.port,
    get linkCount() {
      return core.linkCount;
    },
    metrics: () => core.metrics(),
    close: () => handle.close(),
  };
}
