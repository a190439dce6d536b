/**
 * Read-your-own-writes over HTTP. A client that wrote through one replica sends the session
 * token it got back (header or cookie); the server handling its next request, on any replica,
 * waits until that write is merged before answering. No runtime imports: the request and
 * response shapes are structural, so this fits Node's http, Express/Connect, Bun.serve and Hono.
 */
import { ReplicError, TimeoutError } from "./errors.js";

export const TOKEN_HEADER = "x-replic-token";
export const TOKEN_COOKIE = "replic_token";

export interface ReadYourWritesOptions {
  /** Request header carrying the token. Default "x-replic-token". */
  header?: string;
  /** Cookie carrying the token when the header is absent. Default "replic_token". */
  cookie?: string;
  /** How long a request may wait for the write to arrive, ms. Default 5000. */
  timeoutMs?: number;
}

interface Waitable {
  waitFor(token: string, timeoutMs?: number): Promise<void>;
}

interface NodeLikeRequest {
  headers: Record<string, string | string[] | undefined>;
}
interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

export function tokenFromCookie(cookieHeader: string | null | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** HTTP status and body for a failed wait: 504 on timeout, 400 on a malformed token, 503 otherwise. */
function failure(err: unknown): { status: number; body: string } {
  if (err instanceof TimeoutError) return { status: 504, body: "replica has not caught up with your last write yet" };
  if (err instanceof ReplicError && err.code === "INVALID_TOKEN") return { status: 400, body: err.message };
  return { status: 503, body: err instanceof Error ? err.message : String(err) };
}

/** Connect/Express-style middleware `(req, res, next)` for Node's http servers. */
export function readYourWrites(replica: Waitable, options: ReadYourWritesOptions = {}) {
  const header = (options.header ?? TOKEN_HEADER).toLowerCase();
  const cookie = options.cookie ?? TOKEN_COOKIE;
  const timeoutMs = options.timeoutMs ?? 5000;
  return (req: NodeLikeRequest, res: NodeLikeResponse, next: (err?: unknown) => void): void => {
    const raw = req.headers[header];
    const cookieHeader = req.headers["cookie"];
    const token = (Array.isArray(raw) ? raw[0] : raw) ?? tokenFromCookie(Array.isArray(cookieHeader) ? cookieHeader.join(";") : cookieHeader, cookie);
    if (!token) return next();
    replica.waitFor(token, timeoutMs).then(
      () => next(),
      (err: unknown) => {
        const f = failure(err);
        res.statusCode = f.status;
        res.setHeader("content-type", "text/plain; charset=utf-8");
        res.end(f.body);
      },
    );
  };
}

interface FetchLikeRequest {
  headers: { get(name: string): string | null };
}

/** Wraps a fetch-style handler `(request) => Response` (Bun.serve, Hono, Deno, workers). */
export function withReadYourWrites<Req extends FetchLikeRequest, Res>(
  replica: Waitable,
  handler: (request: Req) => Res | Promise<Res>,
  options: ReadYourWritesOptions = {},
): (request: Req) => Promise<Res | Response> {
  const header = options.header ?? TOKEN_HEADER;
  const cookie = options.cookie ?? TOKEN_COOKIE;
  const timeoutMs = options.timeoutMs ?? 5000;
  return async (request: Req) => {
    const token = request.headers.get(header) ?? tokenFromCookie(request.headers.get("cookie"), cookie);
    if (token) {
      try {
        await replica.waitFor(token, timeoutMs);
      } catch (err) {
        const f = failure(err);
        return new Response(f.body, { status: f.status, headers: { "content-type": "text/plain; charset=utf-8" } });
      }
    }
    return handler(request);
  };
}
