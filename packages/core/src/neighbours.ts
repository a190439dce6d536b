/**
 * Neighbours: the links a transport gave us (addPeer), what each last advertised of every
 * origin, and what it asked of us this round. A neighbour's claims are bounded: at most
 * `maxOrigins` heads are kept per link, and a retained-from beyond what it holds is clamped (an
 * honest peer only collects what it holds contiguously). A link's heads change by a full
 * heartbeat (all replaced) or a delta (the changed ones replaced); either way the link's digest
 * and the per-origin index gap repair reads (advertised.ts) follow, one step per changed head.
 */
import { Advertised } from "./advertised.js";
import type { Origins } from "./origins.js";
import type { ResolvedScope } from "./scope.js";
import { HeadsDigest } from "./wire/heads-digest.js";
import { WIRE_VERSION, WIRE_VERSION_1, WIRE_VERSION_2, type PeerHead, type SchemaVersion } from "./wire/types.js";

/** A neighbour as the protocol sees it. */
export interface Link {
  peerId: number;
  send: (message: Uint8Array) => void;
  /** What it holds, per origin, from its last heartbeat. */
  heads: Map<number, PeerHead>;
  lastContact: number | null;
  clockDriftMs: number | null;
  /** Its schema version, from its last heartbeat (null before one, or from an older build). */
  schema: SchemaVersion | null;
  /** Patches requested from it and not yet received. */
  inflight: number;
  /** When its current serving round started (ms). */
  roundStart: number;
  /** Bytes of patches served to it this round. */
  servedBytes: number;
  /** Ranges served to it this round, per origin, as [from, to] pairs. */
  served: Map<number, Array<[number, number]>>;
  /**
   * The wire version it reads: 3 once it sent a version 3 message; otherwise, once it sent
   * `OLD_BUILD_HEARTBEATS` older heartbeats, the newest version it sent (1: a build before group
   * patches, 2: one before heads deltas); 2 when a version 1 neighbour sends version 2 (it was
   * upgraded); 0 while unknown. Only a version 1 neighbour gets messages without their groups.
   */
  wire: number;
  /** The newest version it sent anything in. */
  seen: number;
  /** Heartbeats older than version 3 received from it (while its version is not known). */
  oldHeartbeats: number;
  /** The digest of `heads` as received (heads-digest.ts). */
  digest: HeadsDigest;
  /** Whether more heads than `maxOrigins` were offered: its digest then cannot match. */
  truncated: boolean;
  /** Whether we asked it for its full heads this round (at most once a round). */
  askedFull: boolean;
  /** Sender side: the heads-log version last advertised to it, -1 before a full heartbeat. */
  sentVersion: number;
  /** Sender side: rounds of heartbeats to it (a full one every `fullHeartbeatEvery`). */
  beats: number;
  /** Sender side: heartbeats sent in a row with heads it already had (idle once it reaches `QUIET_AFTER`). */
  unchangedSent: number;
  /** Sender side: the round (`beats`) of the last heartbeat sent to it. */
  lastSentBeat: number;
  /** Sender side: it asked for our full heads (answered at once, or next round if already sent). */
  fullDue: boolean;
  /** Sender side: whether it got a full heartbeat this round. */
  fullSent: boolean;
  /** The widest scope it may write here (addPeer's `allow`); undefined: anything (scope.ts). */
  allow: ResolvedScope | undefined;
  /** Its patches messages refused because a patch was outside `allow`. */
  outOfScope: number;
}

/** The version of patches and requests to `link`: 2 unless it is known to be a build before group patches. */
export function versionFor(link: Link): number {
  return link.wire === WIRE_VERSION_1 ? WIRE_VERSION_1 : WIRE_VERSION_2;
}

/** The version of heartbeats to `link`: 3 (deltas) unless it is known to be an older build. */
export function heartbeatVersionFor(link: Link): number {
  return link.wire === 0 ? WIRE_VERSION : link.wire;
}

/** Older heartbeats after which a neighbour that sent nothing of version 3 is taken for an older build. */
export const OLD_BUILD_HEARTBEATS = 3;

export class Neighbours {
  readonly links = new Map<number, Link>();
  /** Per origin, the best claim of any link (gap repair's index). */
  readonly advertised = new Advertised({ highestOf: (origin) => this.highestOf(origin) });

  /** Links a neighbour, or gives a linked one a new `send` and `allow` (each addPeer states its whole authorization). */
  add(peerId: number, send: (message: Uint8Array) => void, allow?: ResolvedScope): Link {
    const existing = this.links.get(peerId);
    if (existing) {
      existing.send = send;
      existing.allow = allow;
      return existing;
    }
    const link: Link = {
      peerId,
      send,
      heads: new Map(),
      lastContact: null,
      clockDriftMs: null,
      schema: null,
      inflight: 0,
      roundStart: 0,
      servedBytes: 0,
      served: new Map(),
      wire: 0,
      seen: 0,
      oldHeartbeats: 0,
      digest: new HeadsDigest(),
      truncated: false,
      askedFull: false,
      sentVersion: -1,
      beats: 0,
      unchangedSent: 0,
      lastSentBeat: 0,
      fullDue: false,
      fullSent: false,
      allow,
      outOfScope: 0,
    };
    this.links.set(peerId, link);
    return link;
  }

  remove(peerId: number): boolean {
    const link = this.links.get(peerId);
    if (!link) return false;
    this.links.delete(peerId);
    for (const h of link.heads.values()) this.advertised.update(h.peerId, h.highest, 0);
    return true;
  }

  get(peerId: number): Link | undefined {
    return this.links.get(peerId);
  }

  /** Notes the version of a message from `link`. */
  sawVersion(link: Link, version: number, heartbeat: boolean): void {
    if (version > link.seen) link.seen = version;
    if (version >= WIRE_VERSION) link.wire = WIRE_VERSION;
    else if (version === WIRE_VERSION_2 && link.wire === WIRE_VERSION_1) link.wire = WIRE_VERSION_2;
    else if (heartbeat && link.wire === 0 && ++link.oldHeartbeats >= OLD_BUILD_HEARTBEATS) link.wire = link.seen;
  }

  get size(): number {
    return this.links.size;
  }

  /** Takes a full heartbeat's heads (all replaced); returns how many were ignored beyond the bound. */
  takeHeads(link: Link, heads: readonly PeerHead[], maxOrigins: number): number {
    const before = link.heads;
    link.heads = new Map();
    link.digest.clear();
    const n = Math.min(heads.length, maxOrigins);
    for (let i = 0; i < n; i++) {
      const h = heads[i]!;
      this.set(link, h, link.heads.get(h.peerId) ?? before.get(h.peerId));
    }
    for (const [origin, h] of before) {
      if (!link.heads.has(origin)) this.advertised.update(origin, h.highest, 0);
    }
    link.truncated = heads.length > n;
    return heads.length - n;
  }

  /**
   * Takes a delta heartbeat's heads (each replaces that origin's); returns how many were ignored:
   * new origins beyond the bound.
   */
  takeDelta(link: Link, heads: readonly PeerHead[], maxOrigins: number): number {
    let ignored = 0;
    for (const h of heads) {
      const before = link.heads.get(h.peerId);
      if (before === undefined && link.heads.size >= maxOrigins) ignored++;
      else this.set(link, h, before);
    }
    if (ignored > 0) link.truncated = true;
    return ignored;
  }

  /**
   * One head of `link` set (clamped), in its digest (over the heads as kept: a clamped claim never
   * matches, so its sender is asked for its full heads, once a round) and in the index.
   */
  private set(link: Link, h: PeerHead, before: PeerHead | undefined): void {
    const retainedFrom = Math.max(1, Math.min(h.retainedFrom, h.contiguous + 1));
    const kept = retainedFrom === h.retainedFrom ? h : { ...h, retainedFrom };
    link.digest.replace(link.heads.get(h.peerId), kept);
    link.heads.set(h.peerId, kept);
    this.advertised.update(h.peerId, before?.highest ?? 0, h.highest);
  }

  /** Whether `link`'s heads as received match a digest it sent. */
  digestMatches(link: Link, digest: string): boolean {
    return link.digest.equals(parseInt(digest.slice(0, 8), 16), parseInt(digest.slice(8), 16));
  }

  /** The highest of `origin` each link advertises. */
  private *highestOf(origin: number): Iterable<number> {
    for (const l of this.links.values()) yield l.heads.get(origin)?.highest ?? 0;
  }

  /** Starts a new serving round for one neighbour, or all: the byte budget is full again. */
  newRound(link: Link | undefined, now: number): void {
    for (const l of link ? [link] : this.links.values()) {
      l.roundStart = now;
      l.servedBytes = 0;
      l.served.clear();
      l.askedFull = false;
      l.fullSent = false;
    }
  }

  /** Patches we hold that `link` lacks (lag) and that it holds and we lack (behind). */
  lag(link: Link, origins: Origins): { lag: number; behind: number } {
    let lag = 0;
    let behind = 0;
    for (const o of origins.all.values()) {
      const theirs = link.heads.get(o.peerId)?.contiguous ?? 0;
      if (o.contiguous > theirs) lag += o.contiguous - theirs;
    }
    for (const h of link.heads.values()) {
      const ours = origins.contiguous(h.peerId);
      if (h.contiguous > ours) behind += h.contiguous - ours;
    }
    return { lag, behind };
  }
}
