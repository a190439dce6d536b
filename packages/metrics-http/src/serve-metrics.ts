/** A Node `http` server answering GET /metrics. */
import { createServer, type Server } from "node:http";
import { CONTENT_TYPE, exposition, type ExpositionOptions, type MetricsSource } from "./exposition.js";

export interface ServeMetricsOptions extends ExpositionOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default "/metrics". */
  path?: string;
}

export interface MetricsServer {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

export function serveMetrics(source: MetricsSource, options: ServeMetricsOptions): Promise<MetricsServer> {
  const path = options.path ?? "/metrics";
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== path) {
      res.writeHead(404).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    let body: string;
    try {
      body = exposition(source, options);
    } catch (err) {
      res.writeHead(500).end(`metrics failed: ${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": CONTENT_TYPE });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr ? addr.port : options.port,
        server,
        close: () => new Promise<void>((r, j) => server.close((e) => (e ? j(e) : r()))),
      });
    });
  });
}
