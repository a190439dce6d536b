/**
 * What neighbours advertise, folded per origin: the highest sequence any link claims, and the
 * origins where that claim may be ahead of this replica. Kept up to date as a link's heads change
 * (one update per changed head), so gap repair looks at the origins it may lack instead of every
 * link's every head each round: an idle round costs nothing per origin.
 */
export interface HolderView {
  /** The highest of `origin` each link advertises (0 when it advertises none). */
  highestOf(origin: number): Iterable<number>;
}

interface Best {
  highest: number;
  /** Links advertising exactly `highest`. */
  holders: number;
}

export class Advertised {
  private readonly best = new Map<number, Best>();
  /**
   * Origins some link advertised beyond what this replica held when it was last looked at. Gap
   * repair drops an origin from it once it holds everything advertised; a higher claim adds it
   * back. It may hold origins that are not behind any more (never the other way round).
   */
  readonly maybeBehind = new Set<number>();
  /** Head updates and links scanned so far (tests count work with it, not time). */
  work = 0;

  constructor(private readonly view: HolderView) {}

  /** The highest sequence of `origin` any link advertises (0 when none does). */
  highest(origin: number): number {
    return this.best.get(origin)?.highest ?? 0;
  }

  has(origin: number): boolean {
    return this.best.has(origin);
  }

  get size(): number {
    return this.best.size;
  }

  /** One link's claim on `origin` went from `before` to `after` (0: no claim). */
  update(origin: number, before: number, after: number): void {
    this.work++;
    if (before === after) return;
    const b = this.best.get(origin);
    if (b === undefined || after > b.highest) {
      if (after === 0) return;
      this.best.set(origin, { highest: after, holders: 1 });
      this.maybeBehind.add(origin);
      return;
    }
    if (after === b.highest) b.holders++;
    if (before === b.highest && --b.holders === 0) this.recompute(origin);
  }

  /** The best claim went away: the next best, from every link (rare: a claim went down). */
  private recompute(origin: number): void {
    let highest = 0;
    let holders = 0;
    for (const h of this.view.highestOf(origin)) {
      this.work++;
      if (h > highest) {
        highest = h;
        holders = 1;
      } else if (h === highest && h > 0) holders++;
    }
    if (highest === 0) {
      this.best.delete(origin);
      this.maybeBehind.delete(origin);
    } else this.best.set(origin, { highest, holders });
  }
}
