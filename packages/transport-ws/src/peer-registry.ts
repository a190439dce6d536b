/**
 * Which open link carries each remote peer, per replica. Two links may reach the same peer (both
 * sides dialled each other in a mesh, or a reconnect raced a half-open socket): both stay open and
 * both deliver; the newest sends. When it goes, the next one takes over, so no pair of peers ever
 * flaps by closing each other's duplicate links.
 */
import type { LinkableReplica } from "./options.js";

export interface RegisteredLink {
  readonly remotePeerId: number;
  send(message: Uint8Array): void;
}

const registries = new WeakMap<LinkableReplica, Map<number, RegisteredLink[]>>();

function linksOf(replica: LinkableReplica): Map<number, RegisteredLink[]> {
  let m = registries.get(replica);
  if (!m) registries.set(replica, (m = new Map()));
  return m;
}

/** Makes `link` the sender for its peer; a first link also starts an exchange at once. */
export function attachLink(replica: LinkableReplica, link: RegisteredLink): void {
  const byPeer = linksOf(replica);
  const list = byPeer.get(link.remotePeerId) ?? [];
  list.push(link);
  byPeer.set(link.remotePeerId, list);
  replica.addPeer(link.remotePeerId, (m) => link.send(m));
  // Until addPeer starts the exchange itself: heads now, not at the next heartbeat.
  replica.tick();
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
    const next = list[list.length - 1];
    replica.addPeer(next.remotePeerId, (m) => next.send(m));
  }
}
