// Pins wire/heads-digest.ts: MurmurHash3 against its published vectors, the per-head hash over
// all four numbers (high words too), XOR's order independence and inverse, and heads with highest
// 0 left out.
import { describe, expect, it } from "vitest";
import { digestHex, digestOf, HeadsDigest, murmur } from "../../src/wire/heads-digest.js";
import type { PeerHead } from "../../src/wire/types.js";

const head = (peerId: number, contiguous: number, highest: number, retainedFrom = 1): PeerHead => ({ peerId, contiguous, highest, retainedFrom });
const le = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);

describe("heads digest", () => {
  it("murmur is MurmurHash3 x86_32 (published vectors)", () => {
    expect(murmur(0, [])).toBe(0);
    expect(murmur(1, [])).toBe(0x514e28b7);
    expect(murmur(0xffffffff, [])).toBe(0x81f16f39);
    expect(murmur(0, [0])).toBe(0x2362f9de);
    expect(murmur(0x9747b28c, [le("test")])).toBe(0x704b81dc);
    expect(murmur(0x9747b28c, [le("aaaa")])).toBe(0x5a97808a);
    expect(murmur(0, [0xffffffff])).toBe(0x76293b50);
    expect(murmur(0, [le("test")])).toBe(0xba6bd213);
  });

  it("a head's hash is the two murmurs of its seven words; the digest their XOR", () => {
    const h = head(5, 2 ** 33 + 7, 2 ** 40 + 9, 3);
    const w = [5, 7, 2, 9, 256, 3, 0];
    const d = new HeadsDigest();
    d.toggle(h);
    expect(d.lo).toBe(murmur(0, w));
    expect(d.hi).toBe(murmur(0x9747b28c, w));
    expect(d.hex).toBe(digestHex(murmur(0x9747b28c, w), murmur(0, w)));
    expect(digestOf([h])).toBe(d.hex);
  });

  it("every number of a head changes the digest, high words included", () => {
    const base = digestOf([head(5, 10, 12, 2)]);
    for (const other of [head(6, 10, 12, 2), head(5, 11, 12, 2), head(5, 10, 13, 2), head(5, 10, 12, 3), head(5, 10 + 2 ** 32, 12 + 2 ** 32, 2), head(5, 10, 12 + 2 ** 32, 2), head(5, 10, 12, 2 + 2 ** 32)]) {
      expect(digestOf([other])).not.toBe(base);
    }
  });

  it("is independent of order, and toggling twice removes a head", () => {
    const a = head(1, 3, 3);
    const b = head(2, 5, 9, 4);
    expect(digestOf([a, b])).toBe(digestOf([b, a]));
    const d = new HeadsDigest();
    d.toggle(a);
    d.toggle(b);
    d.toggle(a);
    expect(d.hex).toBe(digestOf([b]));
    d.replace(b, a);
    expect(d.hex).toBe(digestOf([a]));
    d.replace(a, undefined);
    expect(d.hex).toBe("0000000000000000");
    d.replace(undefined, b);
    expect(d.equals(d.hi, d.lo)).toBe(true);
    expect(d.equals(d.hi, d.lo ^ 1)).toBe(false);
    expect(d.equals(d.hi ^ 1, d.lo)).toBe(false);
    d.clear();
    expect([d.hi, d.lo]).toEqual([0, 0]);
  });

  it("leaves out heads with highest 0", () => {
    expect(digestOf([head(9, 0, 0)])).toBe("0000000000000000");
    expect(digestOf([head(9, 0, 0), head(1, 1, 1)])).toBe(digestOf([head(1, 1, 1)]));
    expect(digestOf([head(9, 0, 1)])).not.toBe("0000000000000000");
  });

  it("prints 16 hex digits, zero-padded", () => {
    expect(digestHex(1, 2)).toBe("0000000100000002");
    expect(digestHex(0xffffffff, 0xabcdef)).toBe("ffffffff00abcdef");
  });
});
