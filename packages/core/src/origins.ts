/**
 * What this replica holds of each origin peer's sequence: the highest contiguous sequence
 * (1..contiguous all held), the sequences held above it, the ones held back because they are
 * stamped too far in the future, and the lowest one still retained after collection. Heartbeats
 * advertise these heads; gaps are derived from them. An origin is tracked only once a patch of
 * it is held here, so what neighbours merely advertise never grows this map.
 */
import type { PeerHead, SeqRange } from "./wire/types.js";

export class OriginState {
  contiguous = 0;
  highest = 0;
  /** Lowest sequence still stored; everything below was garbage-collected (1 = nothing was). */
  retainedFrom = 1;
  /** Sequences held above `contiguous` (only while there are gaps). */
  readonly above = new Set<number>();
  /** Sequences received but held back (stamped beyond the clock-drift bound): not merged yet. */
  readonly held = new Set<number>();
  /**
   * Sequences received as parts of a group not complete yet (incomplete-groups.ts): not merged
   * yet. Shared, not copied, by snapshot(): a large group has many parts, and the inbound path
   * undoes its own changes to this set when a transaction rolls back.
   */
  incomplete = new Set<number>();

  /** Where reached() last stopped (it only moves forward). */
  private cursor = 0;

  constructor(readonly peerId: number) {}

  /**
   * The highest `s` such that every sequence 1..s is here in some form: merged, kept whole, held
   * back or waiting as part of an incomplete group. Gap repair measures progress by it (a part of
   * a large group arrives long before the group can merge).
   */
  reached(): number {
    let x = Math.max(this.cursor, this.contiguous);
    while (this.above.has(x + 1) || this.incomplete.has(x + 1) || this.held.has(x + 1)) x++;
    this.cursor = x;
    return x;
  }

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

  /** Sequences in (contiguous, upTo] neither held nor held back, as ranges, at most `maxRanges`. */
  missing(upTo: number, maxRanges = 64): SeqRange[] {
    // Everything up to reached() is here in some form: only what lies beyond it can border a gap.
    const reached = this.reached();
    if (reached >= upTo) return [];
    const beyond: number[] = [];
    for (const set of [this.above, this.held, this.incomplete]) for (const s of set) if (s > reached) beyond.push(s);
    return missingRanges(this.peerId, reached, beyond, upTo, maxRanges);
  }

  /** Sequences in (contiguous, upTo] not held here (held-back ones count as missing). */
  missingCount(upTo: number): number {
    if (upTo <= this.contiguous) return 0;
    let n = upTo - this.contiguous;
    for (const s of this.above) if (s <= upTo) n--;
    return n;
  }
}

/** The gaps in (contiguous, upTo] around the sequences in `present`. */
export function missingRanges(peerId: number, contiguous: number, present: number[], upTo: number, maxRanges = 64): SeqRange[] {
  const out: SeqRange[] = [];
  if (upTo <= contiguous) return out;
  const held = present.filter((s) => s <= upTo && s > contiguous).sort((a, b) => a - b);
  let from = contiguous + 1;
  for (const s of held) {
    if (s > from) out.push({ peerId, from, to: s - 1 });
    if (out.length >= maxRanges) return out;
    from = s + 1;
  }
  if (from <= upTo) out.push({ peerId, from, to: upTo });
  return out;
}

export class Origins {
  readonly all = new Map<number, OriginState>();

  /** The state of an origin, created when first needed (a patch of it is being held). */
  get(peerId: number): OriginState {
    let s = this.all.get(peerId);
    if (!s) this.all.set(peerId, (s = new OriginState(peerId)));
    return s;
  }

  find(peerId: number): OriginState | undefined {
    return this.all.get(peerId);
  }

  /** How far an origin has arrived here in some form (OriginState.reached; 0 when nothing). */
  reached(peerId: number): number {
    return this.all.get(peerId)?.reached() ?? 0;
  }

  /** The contiguous head of an origin (0 when nothing of it is held). */
  contiguous(peerId: number): number {
    return this.all.get(peerId)?.contiguous ?? 0;
  }

  heads(): PeerHead[] {
    return [...this.all.values()].map((s) => s.head());
  }

  /**
   * Remembers the state of these origins; the returned function puts it back (after a rolled-back
   * transaction), without reading the database, which may be what just failed.
   */
  snapshot(peerIds: Iterable<number>): () => void {
    const saved = new Map<number, OriginState | undefined>();
    for (const id of peerIds) {
      if (saved.has(id)) continue;
      const s = this.all.get(id);
      if (!s) {
        saved.set(id, undefined);
        continue;
      }
      const copy = new OriginState(id);
      copy.contiguous = s.contiguous;
      copy.highest = s.highest;
      copy.retainedFrom = s.retainedFrom;
      for (const x of s.above) copy.above.add(x);
      for (const x of s.held) copy.held.add(x);
      copy.incomplete = s.incomplete;
      saved.set(id, copy);
    }
    return () => {
      for (const [id, s] of saved) {
        if (s) this.all.set(id, s);
        else this.all.delete(id);
      }
    };
  }
}
