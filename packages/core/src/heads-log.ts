/**
 * The sender's side of heads deltas: the heads as last advertised, a version number that grows
 * with every change, and a log of which origin changed at which version, so a link that was last
 * sent version v gets exactly the heads changed since (in O(changes), shared by every link at v).
 * The digest of all advertised heads is kept with them (one XOR step per change).
 *
 * refresh() compares every origin's head with the advertised one: one pass of integer
 * comparisons per round, however many links there are.
 */
import type { Origins } from "./origins.js";
import { HeadsDigest } from "./wire/heads-digest.js";
import type { PeerHead } from "./wire/types.js";

interface Advertised {
  head: PeerHead;
  version: number;
}

export class HeadsLog {
  /** Grows with every change of an advertised head. */
  version = 0;
  readonly digest = new HeadsDigest();
  private readonly last = new Map<number, Advertised>();
  /** Origins in the order they changed, each with the version of that change (ascending). */
  private logIds: number[] = [];
  private logVersions: number[] = [];

  /** Takes the origins' heads now; an origin gone since is advertised as a head with highest 0. */
  refresh(origins: Origins): void {
    let seen = 0;
    for (const o of origins.all.values()) {
      const a = this.last.get(o.peerId);
      if (a) seen++;
      if (a && a.head.contiguous === o.contiguous && a.head.highest === o.highest && a.head.retainedFrom === o.retainedFrom) continue;
      this.change(o.head(), a);
    }
    // An origin forgotten (a rolled-back first patch of it): rare, so found by a second pass only then.
    if (seen < this.last.size) {
      for (const [id, a] of this.last) {
        if (a.head.highest > 0 && !origins.all.has(id)) this.change({ peerId: id, contiguous: 0, highest: 0, retainedFrom: 1 }, a);
      }
    }
  }

  private change(head: PeerHead, before: Advertised | undefined): void {
    this.version++;
    this.digest.replace(before?.head, head);
    this.last.set(head.peerId, { head, version: this.version });
    this.logIds.push(head.peerId);
    this.logVersions.push(this.version);
    // Keep the log at most about twice the origins: older entries of a changed origin are dropped.
    if (this.logIds.length > 2 * this.last.size + 64) this.compact();
  }

  private compact(): void {
    const entries = [...this.last.entries()].sort((a, b) => a[1].version - b[1].version);
    this.logIds = entries.map((e) => e[0]);
    this.logVersions = entries.map((e) => e[1].version);
  }

  /** Every advertised head that says something (highest above 0). */
  heads(): PeerHead[] {
    const out: PeerHead[] = [];
    for (const a of this.last.values()) if (a.head.highest > 0) out.push(a.head);
    return out;
  }

  /** The heads changed after `version`, each once, as they are now. */
  changedSince(version: number): PeerHead[] {
    const ids = this.logIds;
    const vs = this.logVersions;
    let lo = 0;
    let hi = vs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (vs[mid]! > version) hi = mid;
      else lo = mid + 1;
    }
    const out: PeerHead[] = [];
    const taken = new Set<number>();
    for (let i = lo; i < ids.length; i++) {
      const id = ids[i]!;
      if (taken.has(id)) continue;
      taken.add(id);
      out.push(this.last.get(id)!.head);
    }
    return out;
  }
}
