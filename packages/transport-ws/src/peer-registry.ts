/**
 * Which open link carries each remote peer, per replica. Two links may reach the same peer (both
 * sides dialled each other in a mesh, or a reconnect raced a half-open socket): both stay open and
 * both deliver; the newest sends. When it goes, the next one takes over, so no pair of peers ever
 * flaps by closing each other's duplicate links.
 */
import { ReplicError, sameScope, type Scope } from "@replic/core";
import type { LinkableReplica } from "./options.js";

export interface RegisteredLink {
  readonly remotePeerId: number;
  send(message: Uint8Array): void;
  /** What the peer may write here, from the authenticate hook (undefined: anything). */
  readonly allow?: Scope;
}

function linkPeer(replica: LinkableReplica, l: RegisteredLink): void {
  replica.addPeer(l.remotePeerId, (m) => l.send(m), l.allow === undefined ? undefined : { allow: l.allow });
}

const registries = new WeakMap<LinkableReplica, Map<number, RegisteredLink[]>>();

function linksOf(replica: LinkableReplica): Map<number, RegisteredLink[]> {
  let m = registries.get(replica);
  if (!m) registries.set(replica, (m = new Map()));
  return m;
}

/**
 * Makes `l` the sender for its peer and starts an exchange soon (roundSoon). Every link of
 * one peer carries the same allow: the replica keeps one per peer id, so a link admitted with
 * another one (other credentials under the same peer id) is refused, AUTH_FAILED, never widened.
 */
export function attachLink(replica: LinkableReplica, l: RegisteredLink): void {
  const byPeer = linksOf(replica);
  const list = byPeer.get(l.remotePeerId) ?? [];
  if (list.length > 0 && !sameScope(list[0]!.allow, l.allow)) {
    throw new ReplicError("AUTH_FAILED", `peer ${l.remotePeerId} is already linked with another authorization (allow); this link is refused`);
  }
  linkPeer(replica, l);
  list.push(l);
  byPeer.set(l.remotePeerId, list);
  roundSoon(replica);
}

/** Links attached within this many ms share one round. */
const LINK_ROUND_DELAY_MS = 50;
const roundDue = new WeakSet<LinkableReplica>();

/**
 * Heads soon, not at the next heartbeat (a replica driven by hand has none). A round sends to
 * every link, so links attached together (a hub restarting, a thousand devices reconnecting) share
 * one: a round per link would make forming N links cost N².
 */
function roundSoon(replica: LinkableReplica): void {
  if (roundDue.has(replica)) return;
  roundDue.add(replica);
  const timer = setTimeout(() => {
    roundDue.delete(replica);
    try {
      replica.tick();
    } catch {
      // Closed since, or inside a transaction: the next heartbeat exchanges heads.
    }
  }, LINK_ROUND_DELAY_MS);
  (timer as { unref?: () => void }).unref?.();
}

export function detachLink(replica: LinkableReplica, link: RegisteredLink): void {
  const byPeer = linksOf(replica);
  const list = byPeer.get(link.remotePeerId);
  if (!list) return;
  const i = list.indexOf(link);
  if (i < 0) return;
  const wasSender = i === list.length - 1;
  list.splice(i, 1);
  if (list.length === 0) {
    byPeer.delete(link.remotePeerId);
    replica.removePeer(link.remotePeerId);
  } else if (wasSender) {
    linkPeer(replica, list[list.length - 1]!);
  }
}
