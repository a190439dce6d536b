// Pins heads-log.ts: which heads changed since a version, each once and as it is now; the digest
// kept with them; a forgotten origin advertised as a head with highest 0; and the log kept small.
import { describe, expect, it } from "vitest";
import { HeadsLog } from "../../src/heads-log.js";
import { Origins } from "../../src/origins.js";
import { digestOf } from "../../src/wire/heads-digest.js";

function setup() {
  const origins = new Origins();
  const log = new HeadsLog();
  const set = (id: number, contiguous: number, highest = contiguous, retainedFrom = 1) => {
    const o = origins.get(id);
    o.contiguous = contiguous;
    o.highest = highest;
    o.retainedFrom = retainedFrom;
  };
  return { origins, log, set };
}

describe("HeadsLog", () => {
  it("records each changed head once per refresh, with a new version each", () => {
    const { origins, log, set } = setup();
    expect(log.version).toBe(0);
    set(1, 3);
    set(2, 5, 7);
    log.refresh(origins);
    expect(log.version).toBe(2);
    expect(log.changedSince(0)).toEqual([
      { peerId: 1, contiguous: 3, highest: 3, retainedFrom: 1 },
      { peerId: 2, contiguous: 5, highest: 7, retainedFrom: 1 },
    ]);
    expect(log.changedSince(1)).toEqual([{ peerId: 2, contiguous: 5, highest: 7, retainedFrom: 1 }]);
    expect(log.changedSince(2)).toEqual([]);
    log.refresh(origins);
    expect(log.version).toBe(2);
  });

  it("sees a change of any of the three numbers", () => {
    const { origins, log, set } = setup();
    set(1, 3, 5, 1);
    log.refresh(origins);
    set(1, 4, 5, 1);
    log.refresh(origins);
    expect(log.version).toBe(2);
    set(1, 4, 6, 1);
    log.refresh(origins);
    expect(log.version).toBe(3);
    set(1, 4, 6, 2);
    log.refresh(origins);
    expect(log.version).toBe(4);
    expect(log.changedSince(3)).toEqual([{ peerId: 1, contiguous: 4, highest: 6, retainedFrom: 2 }]);
  });

  it("a head changed twice since a version is listed once, as it is now", () => {
    const { origins, log, set } = setup();
    set(1, 1);
    set(2, 1);
    log.refresh(origins);
    set(1, 2);
    log.refresh(origins);
    set(2, 2);
    log.refresh(origins);
    set(1, 3);
    log.refresh(origins);
    expect(log.changedSince(2)).toEqual([
      { peerId: 1, contiguous: 3, highest: 3, retainedFrom: 1 },
      { peerId: 2, contiguous: 2, highest: 2, retainedFrom: 1 },
    ]);
    expect(log.changedSince(4)).toEqual([{ peerId: 1, contiguous: 3, highest: 3, retainedFrom: 1 }]);
  });

  it("keeps the digest of the heads it advertises", () => {
    const { origins, log, set } = setup();
    set(1, 3);
    set(2, 0, 0); // says nothing: not advertised in a full heartbeat, not in the digest
    log.refresh(origins);
    expect(log.heads()).toEqual([{ peerId: 1, contiguous: 3, highest: 3, retainedFrom: 1 }]);
    expect(log.digest.hex).toBe(digestOf([{ peerId: 1, contiguous: 3, highest: 3, retainedFrom: 1 }]));
    set(1, 4);
    set(2, 1);
    log.refresh(origins);
    expect(log.digest.hex).toBe(digestOf(log.heads()));
    expect(log.heads()).toHaveLength(2);
  });

  it("an origin forgotten since is advertised as a head with highest 0, once", () => {
    const { origins, log, set } = setup();
    set(1, 3);
    set(2, 4);
    log.refresh(origins);
    origins.all.delete(2);
    log.refresh(origins);
    expect(log.version).toBe(3);
    expect(log.changedSince(2)).toEqual([{ peerId: 2, contiguous: 0, highest: 0, retainedFrom: 1 }]);
    expect(log.heads()).toEqual([{ peerId: 1, contiguous: 3, highest: 3, retainedFrom: 1 }]);
    expect(log.digest.hex).toBe(digestOf(log.heads()));
    log.refresh(origins);
    expect(log.version).toBe(3);
    // Back again: a change like any other.
    set(2, 5);
    log.refresh(origins);
    expect(log.changedSince(3)).toEqual([{ peerId: 2, contiguous: 5, highest: 5, retainedFrom: 1 }]);
  });

  it("keeps its log about twice the origins, and answers the same after compaction", () => {
    const { origins, log, set } = setup();
    set(1, 0, 1);
    set(2, 0, 1);
    log.refresh(origins);
    for (let i = 2; i <= 200; i++) {
      set(1, 0, i);
      log.refresh(origins);
    }
    const size = (log as unknown as { logIds: number[] }).logIds.length;
    expect(size).toBeLessThanOrEqual(2 * 2 + 64);
    expect(log.changedSince(0)).toEqual([
      { peerId: 2, contiguous: 0, highest: 1, retainedFrom: 1 },
      { peerId: 1, contiguous: 0, highest: 200, retainedFrom: 1 },
    ]);
    expect(log.changedSince(2)).toEqual([{ peerId: 1, contiguous: 0, highest: 200, retainedFrom: 1 }]);
    expect(log.changedSince(log.version - 1)).toEqual([{ peerId: 1, contiguous: 0, highest: 200, retainedFrom: 1 }]);
    expect(log.changedSince(log.version)).toEqual([]);
    const versions = (log as unknown as { logVersions: number[] }).logVersions;
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });
});
