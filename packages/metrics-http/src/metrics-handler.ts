/** A fetch-style handler (Bun.serve, Deno, Hono, workers) answering GET /metrics. */
import { CONTENT_TYPE, exposition, type ExpositionOptions, type MetricsSource } from "./exposition.js";

export interface HandlerOptions extends ExpositionOptions {
  /** Default "/metrics". */
  path?: string;
}

export function metricsHandler(source: MetricsSource, options: HandlerOptions = {}): (req: Request) => Response {
  const path = options.path ?? "/metrics";
  return (req) => {
    if (new URL(req.url).pathname !== path) return new Response("not found\n", { status: 404 });
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    try {
      return new Response(req.method === "HEAD" ? null : exposition(source, options), { headers: { "content-type": CONTENT_TYPE } });
    } catch (err) {
      return new Response(`metrics failed: ${(err as Error).message}\n`, { status: 500 });
    }
  };
}
