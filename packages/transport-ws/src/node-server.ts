/** The server on Node: the `ws` package in noServer mode, on our own or the user's http.Server. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import { CLOSE } from "./peer-link.js";
import { ServerCore, headersToRecord } from "./server-core.js";
import type { Scope } from "@replic/core";
import { wsSocket } from "./node-socket.js";

export interface NodeServerHandle {
  port: number;
  close(): Promise<void>;
}

export async function serveNode(core: ServerCore, opts: { port?: number; host?: string; server?: Server }): Promise<NodeServerHandle> {
  // The native limit only bounds memory; the link's own check (logged, counted) fires first.
  const wss = new WebSocketServer({ noServer: true, maxPayload: core.opts.maxMessageBytes * 2 + 1024 });
  const own = !opts.server;
  const server = opts.server ?? createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("replic WebSocket endpoint: upgrade required\n");
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!core.pathMatches(url.pathname)) {
      // On a user's server another upgrade listener may own this path.
      if (own) refuse(socket, 404, "Not Found");
      return;
    }
    socket.on("error", () => socket.destroy());
    const request = { url: url.href, headers: headersToRecord(Object.entries(req.headers)), remoteAddress: req.socket.remoteAddress, raw: req };
    core.allow(request).then(
      (admission) => {
        if (!admission || socket.destroyed) return refuse(socket, 401, "Unauthorized");
        wss.handleUpgrade(req, socket, head, (ws) => attach(core, ws, admission.allow));
      },
      () => refuse(socket, 500, "Internal Server Error"),
    );
  };
  server.on("upgrade", onUpgrade);

  if (own) {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 0);

  return {
    port,
    async close() {
      core.closeLinks();
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      if (own) {
        server.closeAllConnections?.();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  };
}

function attach(core: ServerCore, ws: WsSocket, allow: Scope | undefined): void {
  const link = core.accept(wsSocket(ws), allow);
  ws.on("message", (data: Buffer, isBinary: boolean) => link.onData(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString()));
  ws.on("close", (code: number, reason: Buffer) => link.onSocketClosed(code, reason.toString()));
  ws.on("error", (err: Error) => {
    core.opts.logger.warn(`replic ws: socket error: ${err.message}`);
    const tooBig = /max payload/i.test(err.message);
    if (tooBig) core.counters(link.remotePeerId).oversized++;
    link.close(tooBig ? CLOSE.tooBig : CLOSE.protocol, err.message);
  });
}

function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}
