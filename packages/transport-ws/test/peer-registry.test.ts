// Links attached together share one round: the registry counts rounds, not time (a round per link
// made a hub restarting with N spokes send N² heartbeats).
import { describe, expect, it } from "vitest";
import { attachLink, detachLink, type RegisteredLink } from "../src/peer-registry.js";
import type { LinkableReplica } from "../src/options.js";

function fakeReplica(tick: () => void = () => {}) {
  const peers = new Set<number>();
  const r = {
    peerId: 1,
    ticks: 0,
    peers,
    addPeer: (id: number) => void peers.add(id),
    removePeer: (id: number) => void peers.delete(id),
    receive: () => {},
    tick: () => {
      r.ticks++;
      tick();
    },
  };
  return r satisfies LinkableReplica;
}

const link = (remotePeerId: number): RegisteredLink => ({ remotePeerId, send: () => {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("peer registry", () => {
  it("a burst of links starts one round, soon; a later link starts another", async () => {
    const r = fakeReplica();
    for (let p = 2; p < 502; p++) attachLink(r, link(p));
    expect(r.peers.size).toBe(500);
    expect(r.ticks).toBe(0);
    await sleep(150);
    expect(r.ticks).toBe(1);
    attachLink(r, link(900));
    await sleep(150);
    expect(r.ticks).toBe(2);
  });

  it("each replica gets its own round", async () => {
    const a = fakeReplica();
    const b = fakeReplica();
    attachLink(a, link(2));
    attachLink(b, link(2));
    await sleep(150);
    expect([a.ticks, b.ticks]).toEqual([1, 1]);
  });

  it("a round that throws (the replica closed meanwhile) is dropped, and the next link still gets one", async () => {
    let closed = true;
    const r = fakeReplica(() => {
      if (closed) throw new Error("closed");
    });
    attachLink(r, link(2));
    await sleep(150);
    expect(r.ticks).toBe(1);
    closed = false;
    detachLink(r, link(2)); // not the registered object: nothing happens
    expect(r.peers.has(2)).toBe(true);
    attachLink(r, link(3));
    await sleep(150);
    expect(r.ticks).toBe(2);
  });
});
