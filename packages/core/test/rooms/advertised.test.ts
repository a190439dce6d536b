// Pins advertised.ts: the best claim per origin across links (raised, matched, lowered, gone),
// which origins gap repair must look at, and the work it does (counted, not timed).
import { describe, expect, it } from "vitest";
import { Advertised } from "../../src/advertised.js";

/** Links' claims as a table: link → origin → highest. */
function setup() {
  const claims = new Map<number, Map<number, number>>();
  const adv = new Advertised({
    *highestOf(origin) {
      for (const m of claims.values()) yield m.get(origin) ?? 0;
    },
  });
  const claim = (link: number, origin: number, highest: number) => {
    let m = claims.get(link);
    if (!m) claims.set(link, (m = new Map()));
    const before = m.get(origin) ?? 0;
    if (highest === 0) m.delete(origin);
    else m.set(origin, highest);
    adv.update(origin, before, highest);
  };
  return { adv, claim, claims };
}

describe("Advertised", () => {
  it("knows nothing at first", () => {
    const { adv } = setup();
    expect(adv.highest(3)).toBe(0);
    expect(adv.has(3)).toBe(false);
    expect(adv.size).toBe(0);
    expect([...adv.maybeBehind]).toEqual([]);
  });

  it("a higher claim raises the best and marks the origin as maybe behind; lower or equal ones do not", () => {
    const { adv, claim } = setup();
    claim(1, 7, 5);
    expect(adv.highest(7)).toBe(5);
    expect(adv.has(7)).toBe(true);
    expect([...adv.maybeBehind]).toEqual([7]);
    adv.maybeBehind.clear();
    claim(2, 7, 3);
    claim(3, 7, 5);
    expect(adv.highest(7)).toBe(5);
    expect([...adv.maybeBehind]).toEqual([]);
    claim(2, 7, 9);
    expect(adv.highest(7)).toBe(9);
    expect([...adv.maybeBehind]).toEqual([7]);
    expect(adv.size).toBe(1);
  });

  it("a claim of 0 where there is none changes nothing", () => {
    const { adv } = setup();
    adv.update(4, 0, 0);
    adv.update(4, 3, 0);
    expect(adv.has(4)).toBe(false);
    expect([...adv.maybeBehind]).toEqual([]);
  });

  it("the best claim going down falls back to the next best only when no other link holds it", () => {
    const { adv, claim } = setup();
    claim(1, 7, 9);
    claim(2, 7, 9);
    claim(3, 7, 4);
    const work = adv.work;
    claim(1, 7, 2); // link 2 still claims 9: no scan
    expect(adv.highest(7)).toBe(9);
    expect(adv.work).toBe(work + 1);
    claim(2, 7, 0); // the last holder of 9 goes: scan every link
    expect(adv.highest(7)).toBe(4);
    expect(adv.work).toBe(work + 2 + 3);
    claim(3, 7, 4); // unchanged
    expect(adv.highest(7)).toBe(4);
    claim(3, 7, 0);
    expect(adv.highest(7)).toBe(2);
    claim(1, 7, 0);
    expect(adv.has(7)).toBe(false);
    expect(adv.highest(7)).toBe(0);
  });

  it("counts holders of the best: two links at the best, one goes down, the other still holds it", () => {
    const { adv, claim } = setup();
    claim(1, 7, 3);
    claim(2, 7, 6);
    claim(1, 7, 6); // a second holder of 6
    claim(2, 7, 1);
    expect(adv.highest(7)).toBe(6);
    claim(1, 7, 2); // the last holder of 6: next best is 2
    expect(adv.highest(7)).toBe(2);
    // After a scan the holders of the best are counted again.
    claim(2, 7, 2);
    claim(1, 7, 0);
    expect(adv.highest(7)).toBe(2);
    claim(2, 7, 0);
    expect(adv.has(7)).toBe(false);
  });

  it("an origin nobody claims any more leaves the maybe-behind set", () => {
    const { adv, claim } = setup();
    claim(1, 7, 3);
    claim(1, 8, 3);
    claim(1, 7, 0);
    expect([...adv.maybeBehind]).toEqual([8]);
  });

  it("one update is one step of work, whatever the number of origins and links", () => {
    const { adv, claim } = setup();
    for (let l = 1; l <= 20; l++) for (let o = 100; o < 150; o++) claim(l, o, 5);
    const work = adv.work;
    claim(3, 120, 6);
    claim(4, 121, 5);
    expect(adv.work).toBe(work + 2);
  });

  it("a fallback scan counts every link at the new best, so the next one going down needs no scan", () => {
    const { adv, claim } = setup();
    claim(1, 7, 9);
    claim(2, 7, 4);
    claim(3, 7, 4);
    claim(4, 7, 2);
    claim(1, 7, 0); // scan: best 4, held by links 2 and 3
    expect(adv.highest(7)).toBe(4);
    const work = adv.work;
    claim(2, 7, 1); // link 3 still holds 4: one step, no scan
    expect(adv.highest(7)).toBe(4);
    expect(adv.work).toBe(work + 1);
    claim(3, 7, 0); // the last holder of 4: scan, next best 2
    expect(adv.highest(7)).toBe(2);
  });
});
