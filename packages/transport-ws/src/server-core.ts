/**
 * What every server flavour shares (Node `ws` on its own or a user's http.Server, Bun.serve, a
 * user's Bun handler): the links it accepted, the authenticate hook, per-peer metrics, close.
 */
import { ReplicError, type Scope } from "@replic/core";
import { nodeAuth } from "./auth.js";
import { LinkCounters, renderMetrics, type MetricLabels } from "./metrics.js";
import { resolveLinkOptions, type LinkOptions, type LinkableReplica, type ResolvedLinkOptions } from "./options.js";
import { CLOSE, PeerLink, type WireSocket } from "./peer-link.js";

/** What the authenticate hook sees of an upgrade request, on every runtime. */
export interface UpgradeRequest {
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  remoteAddress: string | undefined;
  /** The runtime's own request object (Node IncomingMessage, Fetch Request under Bun). */
  raw: unknown;
}

/**
 * What the authenticate hook answers: true (the peer may write anything), `{ allow }` (it may write
 * at most that scope: the replica's addPeer allow, docs/scopes.md), or false (refused with 401).
 */
export type AuthResult = boolean | { allow?: Scope };

/** An accepted upgrade: what the peer behind it may write (undefined: anything). */
export interface Admission {
  allow: Scope | undefined;
}

export interface ServerOptions extends LinkOptions {
  /** Only upgrades on this path are accepted. Default "/replic"; "*" accepts any path. */
  path?: string;
  /**
   * Checked before the upgrade: false (or a throw) refuses the connection with 401; true or
   * `{ allow }` accepts it, `allow` bounding what that peer may write (its messages with a patch
   * outside are refused whole, OUT_OF_SCOPE).
   */
  authenticate?: (request: UpgradeRequest) => AuthResult | Promise<AuthResult>;
}

export class ServerCore {
  readonly opts: ResolvedLinkOptions;
  readonly path: string;
  private readonly links = new Set<PeerLink>();
  private readonly byPeer = new Map<string, LinkCounters>();
  private closing = false;

  constructor(
    readonly replica: LinkableReplica,
    private readonly options: ServerOptions,
  ) {
    this.opts = resolveLinkOptions(options);
    this.path = options.path ?? "/replic";
    if (typeof this.path !== "string" || (this.path !== "*" && !this.path.startsWith("/"))) {
      throw new ReplicError("INVALID_OPTION", `path must start with "/" (or be "*"), got ${String(options.path)}`);
    }
    if (options.authenticate !== undefined && typeof options.authenticate !== "function") {
      throw new ReplicError("INVALID_OPTION", "authenticate must be a function");
    }
  }

  get closed(): boolean {
    return this.closing;
  }

  pathMatches(pathname: string): boolean {
    return this.path === "*" || pathname === this.path;
  }

  /** Runs the user's hook: the admission, or null when refused (a refusal or a throw is counted and logged). */
  async allow(req: UpgradeRequest): Promise<Admission | null> {
    if (this.closing) return null;
    if (!this.options.authenticate) return { allow: undefined };
    let admission: Admission | null = null;
    try {
      const answer = await this.options.authenticate(req);
      if (answer === true) admission = { allow: undefined };
      else if (typeof answer === "object" && answer !== null) admission = { allow: answer.allow };
    } catch (err) {
      this.opts.logger.warn(`replic ws: authenticate hook threw: ${(err as Error)?.message ?? err}`);
    }
    if (!admission) {
      this.counters(undefined).authFailures++;
      this.opts.logger.warn(`replic ws: upgrade from ${req.remoteAddress ?? "?"} refused by authenticate`);
    }
    return admission;
  }

  /** Wraps an accepted socket; the caller feeds it data and close events. `allow`: what its peer may write. */
  accept(socket: WireSocket, allow?: Scope): PeerLink {
    const link = new PeerLink(this.replica, socket, this.opts, {
      counters: (peer) => this.counters(peer),
      onClosed: () => this.links.delete(link),
    }, nodeAuth, allow);
    this.links.add(link);
    if (this.closing) link.close(CLOSE.goingAway, "server closing");
    else link.start();
    return link;
  }

  counters(peer: number | undefined): LinkCounters {
    const key = peer === undefined ? "unidentified" : String(peer);
    let c = this.byPeer.get(key);
    if (!c) this.byPeer.set(key, (c = new LinkCounters()));
    return c;
  }

  get linkCount(): number {
    return [...this.links].filter((l) => l.linked).length;
  }

  metrics(): string {
    const entries: Array<[MetricLabels, LinkCounters]> = [...this.byPeer].map(([peer, c]) => [{ role: "server", peer }, c]);
    return renderMetrics(entries);
  }

  closeLinks(): void {
    this.closing = true;
    for (const l of this.links) l.close(CLOSE.goingAway, "server closing");
  }
}

export function headersToRecord(entries: Iterable<[string, string | string[] | undefined]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}
