/**
 * The heads digest of protocol version 3: a 64-bit fingerprint of a set of heads, the XOR of one
 * 64-bit hash per head. XOR makes it incremental (replacing one head costs two hashes, whatever
 * the number of origins) and independent of order. Heads with `highest` 0 say nothing and are
 * left out, so a sender and a receiver that agree on the heads agree on the digest.
 *
 * A head's hash is MurmurHash3 (x86, 32-bit) of the 28 bytes of seven little-endian uint32
 * words — peerId, then contiguous, highest and retainedFrom each as low word then high word —
 * computed twice, with seed 0 for the low half and seed 0x9747b28c for the high half.
 */
import type { PeerHead } from "./types.js";

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED_HI = 0x9747b28c;
const TWO32 = 0x1_0000_0000;

function mix(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 (x86, 32-bit) of uint32 words read as little-endian bytes. */
export function murmur(seed: number, w: readonly number[]): number {
  let h = seed | 0;
  for (let i = 0; i < w.length; i++) h = mix(h, w[i]! | 0);
  h ^= w.length * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const words = [0, 0, 0, 0, 0, 0, 0];
function fill(h: PeerHead): number[] {
  words[0] = h.peerId;
  words[1] = h.contiguous % TWO32;
  words[2] = Math.floor(h.contiguous / TWO32);
  words[3] = h.highest % TWO32;
  words[4] = Math.floor(h.highest / TWO32);
  words[5] = h.retainedFrom % TWO32;
  words[6] = Math.floor(h.retainedFrom / TWO32);
  return words;
}

/** A digest being maintained: XOR in a head when it appears, XOR it out when it goes. */
export class HeadsDigest {
  lo = 0;
  hi = 0;

  /** Adds a head, or removes it again (XOR is its own inverse). Heads with highest 0 are left out. */
  toggle(h: PeerHead): void {
    if (h.highest === 0) return;
    const w = fill(h);
    this.lo = (this.lo ^ murmur(0, w)) >>> 0;
    this.hi = (this.hi ^ murmur(SEED_HI, w)) >>> 0;
  }

  /** Replaces `before` (absent: none) with `after` (absent: none). */
  replace(before: PeerHead | undefined, after: PeerHead | undefined): void {
    if (before) this.toggle(before);
    if (after) this.toggle(after);
  }

  clear(): void {
    this.lo = 0;
    this.hi = 0;
  }

  equals(hi: number, lo: number): boolean {
    return this.hi === hi && this.lo === lo;
  }

  /** The 64-bit value as 16 lowercase hex digits. */
  get hex(): string {
    return digestHex(this.hi, this.lo);
  }
}

export function digestHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/** The digest of a whole list of heads. */
export function digestOf(heads: readonly PeerHead[]): string {
  const d = new HeadsDigest();
  for (const h of heads) d.toggle(h);
  return d.hex;
}
