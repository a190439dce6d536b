/**
 * The server on Bun: native `Bun.serve` WebSockets. `createBunHandler` gives the `fetch` /
 * `websocket` pair to mount in a user's own Bun.serve; `serveBun` runs one on its own.
 */
import type { LinkableReplica } from "./options.js";
import type { PeerLink } from "./peer-link.js";
import { ServerCore, headersToRecord, type ServerOptions } from "./server-core.js";
import { bunGlobal, type BunServer, type BunServerWebSocket, type BunWebSocketHandler } from "./bun-types.js";
import { ReplicError, type Scope } from "@replic/core";

interface SocketData {
  link?: PeerLink;
  /** What the authenticate hook allows the peer behind this socket to write. */
  allow?: Scope;
}

export interface BunHandler {
  /** Call from your fetch for requests to the replic path: undefined once upgraded, else a refusal. */
  fetch(req: Request, server: BunServer): Promise<Response | undefined>;
  /** Pass as (or merge into) Bun.serve's `websocket` option. */
  websocket: BunWebSocketHandler<unknown>;
  metrics(): string;
  /** Closes the links this handler accepted (the Bun server stays yours). */
  close(): Promise<void>;
  readonly linkCount: number;
}

export function createBunHandler(replica: LinkableReplica, options: ServerOptions = {}): BunHandler {
  return handlerFor(new ServerCore(replica, options));
}

function handlerFor(core: ServerCore): BunHandler {
  const websocket: BunWebSocketHandler<SocketData> = {
    maxPayloadLength: core.opts.maxMessageBytes * 2 + 1024,
    open(ws) {
      ws.data.link = core.accept({
        send: (bytes) => void ws.send(bytes, false),
        bufferedAmount: () => ws.getBufferedAmount(),
        close: (code, reason) => ws.close(code, reason),
        terminate: () => ws.terminate(),
      }, ws.data.allow);
    },
    message(ws, data) {
      ws.data.link?.onData(typeof data === "string" ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    close(ws, code, reason) {
      ws.data.link?.onSocketClosed(code, reason);
    },
  };
  return {
    async fetch(req, server) {
      const url = new URL(req.url);
      if (!core.pathMatches(url.pathname)) return new Response("Not Found", { status: 404 });
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("replic WebSocket endpoint: upgrade required\n", { status: 426 });
      }
      const request = { url: req.url, headers: headersToRecord(req.headers.entries()), remoteAddress: server.requestIP(req)?.address, raw: req };
      const admission = await core.allow(request);
      if (!admission) return new Response("Unauthorized", { status: 401 });
      if (server.upgrade<SocketData>(req, { data: admission.allow === undefined ? {} : { allow: admission.allow } })) return undefined;
      return new Response("WebSocket upgrade failed", { status: 400 });
    },
    websocket: websocket as BunWebSocketHandler<unknown>,
    metrics: () => core.metrics(),
    async close() {
      core.closeLinks();
    },
    get linkCount() {
      return core.linkCount;
    },
  };
}

export interface BunServerHandle {
  port: number;
  close(): Promise<void>;
}

export function serveBun(core: ServerCore, opts: { port?: number; host?: string }): BunServerHandle {
  const Bun = bunGlobal();
  if (!Bun) throw new ReplicError("INVALID_OPTION", "serveBun needs the Bun runtime");
  const handler = handlerFor(core);
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: opts.host ?? "127.0.0.1",
    fetch: (req, srv) => handler.fetch(req, srv),
    websocket: handler.websocket,
  });
  return {
    port: server.port,
    async close() {
      await handler.close();
      await server.stop(true);
    },
  };
}
