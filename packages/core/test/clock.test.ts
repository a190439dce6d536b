import { describe, expect, it } from "vitest";
import { HybridLogicalClock, msFromTimestamp, timestampFromMs } from "../src/index.js";
import { MAX_TIMESTAMP } from "../src/clock.js";

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

describe("hybrid logical clock: edges (mutation-tested)", () => {
  it("issues MAX_TIMESTAMP itself, then refuses to overflow with a named RangeError", () => {
    const c = new HybridLogicalClock(() => 0, 1000, MAX_TIMESTAMP - 1);
    expect(c.next()).toBe(MAX_TIMESTAMP);
    expect(() => c.next()).toThrow(new RangeError("hybrid logical clock overflow"));
  });

  it("follows a remote clock exactly at the drift bound, not one ms beyond", () => {
    const wall = 1_700_000_000_000;
    const at = new HybridLogicalClock(() => wall, 5_000);
    expect(at.observe(timestampFromMs(wall + 5_000))).toEqual({ beyondBound: false, aheadMs: 5_000 });
    expect(at.current).toBe(timestampFromMs(wall + 5_000));
    const beyond = new HybridLogicalClock(() => wall, 5_000);
    expect(beyond.observe(timestampFromMs(wall + 5_001))).toEqual({ beyondBound: true, aheadMs: 5_001 });
    expect(beyond.current).toBe(0);
  });

  it("never moves back to a remote clock behind it", () => {
    const c = new HybridLogicalClock(() => 1_000, 60_000, timestampFromMs(5_000) + 7);
    c.observe(timestampFromMs(4_000));
    expect(c.current).toBe(timestampFromMs(5_000) + 7);
    expect(c.next()).toBe(timestampFromMs(5_000) + 8);
  });
});

describe("hybrid logical clock: follows the wall clock", () => {
  it("stamps the wall-clock millisecond when it is ahead of the last timestamp", () => {
    let wall = 5_000;
    const c = new HybridLogicalClock(() => wall, 60_000, timestampFromMs(4_000) + 9);
    expect(c.next()).toBe(timestampFromMs(5_000));
    wall = 7_000;
    expect(c.next()).toBe(timestampFromMs(7_000));
  });
});
