/**
 * What this replica holds of each origin peer's sequence: the highest contiguous sequence
 * (1..contiguous all held), the sequences held above it, and the lowest one still retained
 * after garbage collection. Heartbeats advertise these heads; gaps are derived from them.
 */
import type { PeerHead, SeqRange } from "./codec.js";

export class OriginState {
  contiguous = 0;
  highest = 0;
  /** Lowest sequence still stored; everything below was garbage-collected (1 = nothing was). */
  retainedFrom = 1;
  /** Sequences held above `contiguous` (only while there are gaps). */
  readonly above = new Set<number>();

  constructor(readonly peerId: number) {}

  has(seq: number): boolean {
    return seq <= this.contiguous || this.above.has(seq);
  }

  /** Records a held sequence; returns true when it advanced `contiguous`. */
  add(seq: number): boolean {
    if (seq > this.highest) this.highest = seq;
    if (seq !== this.contiguous + 1) {
      this.above.add(seq);
      return false;
    }
    this.contiguous = seq;
    while (this.above.size > 0 && this.above.delete(this.contiguous + 1)) this.contiguous++;
    return true;
  }

  head(): PeerHead {
    return { peerId: this.peerId, contiguous: this.contiguous, highest: this.highest, retainedFrom: this.retainedFrom };
  }

  /** Missing sequences in (contiguous, upTo], as ranges, at most `maxRanges` of them. */
  missing(upTo: number, maxRanges = 64): SeqRange[] {
    const out: SeqRange[] = [];
    if (upTo <= this.contiguous) return out;
    const held = [...this.above].filter((s) => s <= upTo).sort((a, b) => a - b);
    let from = this.contiguous + 1;
    for (const s of held) {
      if (s > from) out.push({ peerId: this.peerId, from, to: s - 1 });
      if (out.length >= maxRanges) return out;
      from = s + 1;
    }
    if (from <= upTo) out.push({ peerId: this.peerId, from, to: upTo });
    return out;
  }
}

export class PeerStates {
  readonly origins = new Map<number, OriginState>();

  get(peerId: number): OriginState {
    let s = this.origins.get(peerId);
    if (!s) {
      s = new OriginState(peerId);
      this.origins.set(peerId, s);
    }
    return s;
  }

  find(peerId: number): OriginState | undefined {
    return this.origins.get(peerId);
  }

  heads(): PeerHead[] {
    return [...this.origins.values()].map((s) => s.head());
  }
}
