/**
 * What every server flavour shares (Node `ws` on its own or a user's http.Server, Bun.serve, a
 * user's Bun handler): the links it accepted, the authenticate hook, per-peer metrics, close.
 */
import { ReplicError } from "@replic/core";
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

export interface ServerOptions extends LinkOptions {
  /** Only upgrades on this path are accepted. Default "/replic"; "*" accepts any path. */
  path?: string;
  /** Checked before the upgrade; false (or a throw) refuses the connection with 401. */
  authenticate?: (request: UpgradeRequest) => boolean | Promise<boolean>;
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

  /** Runs the user's hook; a refusal or a throw is counted and logged. */
  async allow(req: UpgradeRequest): Promise<boolean> {
    if (this.closing) return false;
    if (!this.options.authenticate) return true;
    let ok = false;
    try {
      ok = (await this.options.authenticate(req)) === true;
    } catch (err) {
      this.opts.logger.warn(`replic ws: authenticate hook threw: ${(err as Error)?.message ?? err}`);
    }
    if (!ok) {
      this.counters(undefined).authFailures++;
      this.opts.logger.warn(`replic ws: upgrade from ${req.remoteAddress ?? "?"} refused by authenticate`);
    }
    return ok;
  }

  /** Wraps an accepted socket; the caller feeds it data and close events. */
  accept(socket: WireSocket): PeerLink {
    const link = new PeerLink(this.replica, socket, this.opts, {
      counters: (peer) => this.counters(peer),
      onClosed: () => this.links.delete(link),
    });
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
