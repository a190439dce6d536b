// Pins origins.ts: what this replica holds of each origin's sequence (contiguous, highest, the
// sequences above the contiguous head, the held-back ones), the gaps derived from it, and the
// snapshot a rolled-back transaction restores.
import { describe, expect, it } from "vitest";
import { OriginState, Origins, missingRanges } from "../../src/origins.js";

/** An origin that holds exactly `seqs`, added in the given order. */
function holding(peerId: number, ...seqs: number[]): OriginState {
  const o = new OriginState(peerId);
  for (const s of seqs) o.add(s);
  return o;
}

const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);

describe("OriginState", () => {
  it("starts empty: nothing held, nothing collected", () => {
    const o = new OriginState(7);
    expect([o.peerId, o.contiguous, o.highest, o.retainedFrom]).toEqual([7, 0, 0, 1]);
    expect(o.above.size + o.held.size).toBe(0);
    expect(o.head()).toEqual({ peerId: 7, contiguous: 0, highest: 0, retainedFrom: 1 });
    expect(o.has(1)).toBe(false);
  });

  it("advances contiguous on the next sequence and reports that it did", () => {
    const o = new OriginState(7);
    expect(o.add(1)).toBe(true);
    expect(o.add(2)).toBe(true);
    expect([o.contiguous, o.highest, o.above.size]).toEqual([2, 2, 0]);
  });

  it("keeps a sequence beyond a hole above contiguous, without advancing", () => {
    const o = holding(7, 1);
    expect(o.add(3)).toBe(false);
    expect(o.add(5)).toBe(false);
    expect([o.contiguous, o.highest]).toEqual([1, 5]);
    expect(sorted(o.above)).toEqual([3, 5]);
  });

  it("filling a hole absorbs the run above it, and stops at the next hole", () => {
    const o = holding(7, 1, 5, 3, 4, 7);
    expect(sorted(o.above)).toEqual([3, 4, 5, 7]);
    expect(o.add(2)).toBe(true);
    expect(o.contiguous).toBe(5);
    expect(sorted(o.above)).toEqual([7]);
    expect(o.add(6)).toBe(true);
    expect([o.contiguous, o.highest, o.above.size]).toEqual([7, 7, 0]);
  });

  it("a lower sequence never lowers highest", () => {
    const o = holding(7, 9, 4);
    expect(o.highest).toBe(9);
    o.add(1);
    expect(o.highest).toBe(9);
  });

  it("has(): everything up to contiguous and what is held above it, nothing else", () => {
    const o = holding(7, 1, 2, 5);
    expect([1, 2, 3, 4, 5, 6].map((s) => o.has(s))).toEqual([true, true, false, false, true, false]);
    o.held.add(3); // held back is not held
    expect(o.has(3)).toBe(false);
  });

  it("head() reports contiguous, highest and retainedFrom", () => {
    const o = holding(9, 1, 2, 3, 6);
    o.retainedFrom = 3;
    expect(o.head()).toEqual({ peerId: 9, contiguous: 3, highest: 6, retainedFrom: 3 });
  });

  it("missing(): the holes up to a bound, held-back sequences are not asked again", () => {
    const o = holding(7, 1, 2, 5, 9);
    expect(o.missing(10)).toEqual([
      { peerId: 7, from: 3, to: 4 },
      { peerId: 7, from: 6, to: 8 },
      { peerId: 7, from: 10, to: 10 },
    ]);
    o.held.add(7);
    expect(o.missing(10)).toEqual([
      { peerId: 7, from: 3, to: 4 },
      { peerId: 7, from: 6, to: 6 },
      { peerId: 7, from: 8, to: 8 },
      { peerId: 7, from: 10, to: 10 },
    ]);
    expect(o.missing(2)).toEqual([]);
    expect(o.missing(10, 1)).toEqual([{ peerId: 7, from: 3, to: 4 }]);
  });

  it("missing() returns at most 64 ranges by default", () => {
    const o = holding(7);
    for (let s = 2; s <= 200; s += 2) o.add(s);
    const gaps = o.missing(200);
    expect(gaps).toHaveLength(64);
    expect(gaps[63]).toEqual({ peerId: 7, from: 127, to: 127 });
  });

  it("missingCount(): sequences up to a bound not held; held-back ones count as missing", () => {
    const o = holding(7, 1, 2, 4, 8);
    expect(o.missingCount(2)).toBe(0);
    expect(o.missingCount(1)).toBe(0);
    expect(o.missingCount(3)).toBe(1);
    expect(o.missingCount(4)).toBe(1);
    expect(o.missingCount(7)).toBe(4); // 3, 5, 6, 7
    expect(o.missingCount(8)).toBe(4);
    expect(o.missingCount(10)).toBe(6);
    o.held.add(5);
    expect(o.missingCount(7)).toBe(4);
  });
});

describe("missingRanges", () => {
  it("nothing is missing at or below contiguous", () => {
    expect(missingRanges(1, 5, [], 5)).toEqual([]);
    expect(missingRanges(1, 5, [], 4)).toEqual([]);
  });

  it("the whole span when nothing above contiguous is present", () => {
    expect(missingRanges(3, 5, [], 9)).toEqual([{ peerId: 3, from: 6, to: 9 }]);
    expect(missingRanges(3, 5, [], 6)).toEqual([{ peerId: 3, from: 6, to: 6 }]);
  });

  it("orders present sequences numerically, not as text", () => {
    expect(missingRanges(3, 0, [10, 9, 2], 11)).toEqual([
      { peerId: 3, from: 1, to: 1 },
      { peerId: 3, from: 3, to: 8 },
      { peerId: 3, from: 11, to: 11 },
    ]);
  });

  it("adjacent present sequences make no empty range", () => {
    expect(missingRanges(3, 0, [1, 2, 4, 5], 6)).toEqual([
      { peerId: 3, from: 3, to: 3 },
      { peerId: 3, from: 6, to: 6 },
    ]);
  });

  it("ignores present sequences at or below contiguous and above the bound", () => {
    expect(missingRanges(3, 5, [2, 5], 8)).toEqual([{ peerId: 3, from: 6, to: 8 }]);
    expect(missingRanges(3, 5, [10], 8)).toEqual([{ peerId: 3, from: 6, to: 8 }]);
    expect(missingRanges(3, 5, [8], 8)).toEqual([{ peerId: 3, from: 6, to: 7 }]);
  });

  it("stops at maxRanges, dropping the tail", () => {
    expect(missingRanges(3, 0, [2, 4, 6], 8, 2)).toEqual([
      { peerId: 3, from: 1, to: 1 },
      { peerId: 3, from: 3, to: 3 },
    ]);
    expect(missingRanges(3, 0, [2, 4, 6], 8, 3)).toEqual([
      { peerId: 3, from: 1, to: 1 },
      { peerId: 3, from: 3, to: 3 },
      { peerId: 3, from: 5, to: 5 },
    ]);
    expect(missingRanges(3, 0, [2], 8, 1)).toEqual([{ peerId: 3, from: 1, to: 1 }]);
  });

  it("returns at most 64 ranges by default", () => {
    const present = Array.from({ length: 100 }, (_, i) => 2 * (i + 1));
    const out = missingRanges(3, 0, present, 200);
    expect(out).toHaveLength(64);
    expect(out[63]).toEqual({ peerId: 3, from: 127, to: 127 });
  });
});

describe("Origins", () => {
  it("get() creates an origin once and keeps it; find() and contiguous() never create", () => {
    const os = new Origins();
    expect(os.find(4)).toBeUndefined();
    expect(os.contiguous(4)).toBe(0);
    expect(os.all.size).toBe(0);
    const a = os.get(4);
    expect(os.get(4)).toBe(a);
    expect(os.find(4)).toBe(a);
    a.add(1);
    a.add(2);
    expect(os.contiguous(4)).toBe(2);
    expect(os.all.size).toBe(1);
  });

  it("heads() lists every tracked origin", () => {
    const os = new Origins();
    os.get(4).add(1);
    os.get(9).add(2);
    os.get(9).retainedFrom = 1;
    expect(os.heads()).toEqual([
      { peerId: 4, contiguous: 1, highest: 1, retainedFrom: 1 },
      { peerId: 9, contiguous: 0, highest: 2, retainedFrom: 1 },
    ]);
  });

  it("a snapshot restores every field of the origins it names, and drops origins created since", () => {
    const os = new Origins();
    const a = os.get(4);
    for (const s of [1, 2, 5]) a.add(s);
    a.held.add(7);
    a.retainedFrom = 2;
    const untouched = os.get(8);
    untouched.add(1);
    const restore = os.snapshot([4, 6, 4]);
    // The transaction changes everything, in place.
    a.add(3);
    a.add(9);
    a.held.delete(7);
    a.held.add(11);
    a.retainedFrom = 3;
    os.get(6).add(1);
    untouched.add(2);
    restore();
    const back = os.find(4)!;
    expect(back.head()).toEqual({ peerId: 4, contiguous: 2, highest: 5, retainedFrom: 2 });
    expect(sorted(back.above)).toEqual([5]);
    expect(sorted(back.held)).toEqual([7]);
    expect(os.find(6)).toBeUndefined();
    expect(os.find(8)).toBe(untouched);
    expect(untouched.contiguous).toBe(2);
    expect([...os.all.keys()].sort()).toEqual([4, 8]);
  });
});

describe("OriginState.reached: how far an origin has arrived in any form", () => {
  it("counts merged, kept, held-back and waiting sequences, from the contiguous head on, and only moves forward", () => {
    const o = new OriginState(1);
    expect(o.reached()).toBe(0);
    o.add(1);
    o.add(2);
    expect(o.reached()).toBe(2);
    o.incomplete.add(3);
    o.held.add(4);
    o.add(5);
    o.incomplete.add(7); // beyond a hole at 6
    expect(o.reached()).toBe(5);
    expect(o.contiguous).toBe(2);
    o.incomplete.add(6);
    expect(o.reached()).toBe(7);
    // The parts of a group merge: contiguous catches up, reached stays.
    for (const s of [3, 4, 6, 7]) o.add(s);
    o.incomplete.clear();
    o.held.clear();
    expect(o.contiguous).toBe(7);
    expect(o.reached()).toBe(7);
  });

  it("missing() leaves out sequences waiting in incomplete groups; missingCount() counts them as missing", () => {
    const o = new OriginState(2);
    o.add(1);
    o.incomplete.add(2);
    o.incomplete.add(3);
    expect(o.missing(5)).toEqual([{ peerId: 2, from: 4, to: 5 }]);
    expect(o.missingCount(5)).toBe(4);
  });

  it("Origins.reached is 0 for an unknown origin and follows the state of a known one", () => {
    const os = new Origins();
    expect(os.reached(9)).toBe(0);
    os.get(9).incomplete.add(1);
    expect(os.reached(9)).toBe(1);
    // snapshot() shares the incomplete set (the inbound path undoes its own changes to it).
    const restore = os.snapshot([9]);
    os.get(9).add(1);
    os.get(9).incomplete.add(2);
    restore();
    expect(os.find(9)!.contiguous).toBe(0);
    expect(os.find(9)!.incomplete.has(2)).toBe(true);
  });
});
