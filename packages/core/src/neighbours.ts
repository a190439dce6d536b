/**
 * Neighbours: the links a transport gave us (addPeer), what each last advertised of every
 * origin, and what it asked of us this round. A neighbour's claims are bounded: at most
 * `maxOrigins` heads are taken from one heartbeat, and a retained-from beyond what it holds is
 * clamped (an honest peer only collects what it holds contiguously).
 */
import type { Origins } from "./origins.js";
import type { PeerHead, SchemaVersion } from "./wire/types.js";

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
   * The wire version it reads: 2 once it sent a version 2 message, 1 once it sent
   * `OLD_BUILD_HEARTBEATS` version 1 heartbeats and nothing newer (a build before group patches),
   * 0 before either. Only a version 1 neighbour gets messages without their groups.
   */
  wire: number;
  /** Version 1 heartbeats received from it (while its version is not known). */
  v1Heartbeats: number;
}

/** The version to write to `link`: 2 unless it is known to be a build before group patches. */
export function versionFor(link: Link): number {
  return link.wire === 1 ? 1 : 2;
}

/** Version 1 heartbeats after which a neighbour that sent nothing newer is taken for an older build. */
export const OLD_BUILD_HEARTBEATS = 3;

export class Neighbours {
  readonly links = new Map<number, Link>();

  add(peerId: number, send: (message: Uint8Array) => void): Link {
    const existing = this.links.get(peerId);
    if (existing) {
      existing.send = send;
      return existing;
    }
    const link: Link = { peerId, send, heads: new Map(), lastContact: null, clockDriftMs: null, schema: null, inflight: 0, roundStart: 0, servedBytes: 0, served: new Map(), wire: 0, v1Heartbeats: 0 };
    this.links.set(peerId, link);
    return link;
  }

  remove(peerId: number): boolean {
    return this.links.delete(peerId);
  }

  get(peerId: number): Link | undefined {
    return this.links.get(peerId);
  }

  /** Notes the version of a message from `link`. */
  sawVersion(link: Link, version: number, heartbeat: boolean): void {
    if (version >= 2) link.wire = version;
    else if (heartbeat && link.wire === 0 && ++link.v1Heartbeats >= OLD_BUILD_HEARTBEATS) link.wire = 1;
  }

  get size(): number {
    return this.links.size;
  }

  /** Takes a heartbeat's heads; returns how many were ignored beyond the bound. */
  takeHeads(link: Link, heads: readonly PeerHead[], maxOrigins: number): number {
    link.heads.clear();
    const n = Math.min(heads.length, maxOrigins);
    for (let i = 0; i < n; i++) {
      const h = heads[i]!;
      const retainedFrom = Math.max(1, Math.min(h.retainedFrom, h.contiguous + 1));
      link.heads.set(h.peerId, retainedFrom === h.retainedFrom ? h : { ...h, retainedFrom });
    }
    return heads.length - n;
  }

  /** Starts a new serving round for one neighbour, or all: the byte budget is full again. */
  newRound(link: Link | undefined, now: number): void {
    for (const l of link ? [link] : this.links.values()) {
      l.roundStart = now;
      l.servedBytes = 0;
      l.served.clear();
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
