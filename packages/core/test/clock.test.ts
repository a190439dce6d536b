import { describe, expect, it } from "vitest";
import { HybridLogicalClock, msFromTimestamp, timestampFromMs } from "../src/index.js";

describe("hybrid logical clock", () => {
  it("packs Unix ms into the high bits of a 53-bit integer", () => {
    const ts = timestampFromMs(Date.UTC(2026, 0, 1));
    expect(Number.isSafeInteger(ts)).toBe(true);
    expect(msFromTimestamp(ts)).toBe(Date.UTC(2026, 0, 1));
    expect(Number.isSafeInteger(timestampFromMs(Date.UTC(2100, 0, 1)) + 2047)).toBe(true);
  });

  it("is strictly increasing even when the wall clock stalls or goes back", () => {
    let wall = 1_000_000;
    const c = new HybridLogicalClock(() => wall, 60_000);
    const seen: number[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 7 === 0) wall -= 3;
      if (i % 11 === 0) wall += 1;
      seen.push(c.next());
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
  });

  it("resumes above a persisted value after a restart with a clock behind", () => {
    const c = new HybridLogicalClock(() => 5, 60_000, timestampFromMs(1_000_000));
    expect(c.next()).toBeGreaterThan(timestampFromMs(1_000_000));
  });

  it("follows a remote clock within the bound but not beyond", () => {
    const wall = 1_000_000;
    const c = new HybridLogicalClock(() => wall, 1000);
    const near = timestampFromMs(wall + 500);
    expect(c.observe(near).beyondBound).toBe(false);
    expect(c.next()).toBeGreaterThan(near);
    const far = timestampFromMs(wall + 10 * 60_000);
    const o = c.observe(far);
    expect(o.beyondBound).toBe(true);
    expect(o.aheadMs).toBe(10 * 60_000);
    expect(c.next()).toBeLessThan(far);
  });
});
