/**
 * Read-your-own-writes: promises waiting until an origin's contiguous head reaches a sequence,
 * i.e. that write and every earlier one of its peer are merged here.
 */
import { ReplicError, TimeoutError } from "./errors.js";

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Waiters {
  private readonly byOrigin = new Map<number, Waiter[]>();

  wait(origin: number, seq: number, timeoutMs: number, describe: () => string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { seq, resolve, reject, timer: undefined };
      let list = this.byOrigin.get(origin);
      if (!list) this.byOrigin.set(origin, (list = []));
      list.push(w);
      if (Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          const l = this.byOrigin.get(origin);
          if (l) {
            l.splice(l.indexOf(w), 1);
            if (l.length === 0) this.byOrigin.delete(origin);
          }
          reject(new TimeoutError(`${describe()} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** Resolves the waiters of `origin` whose sequence is now at or below `contiguous`. */
  advance(origin: number, contiguous: number): void {
    const list = this.byOrigin.get(origin);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (w.seq <= contiguous) {
        if (w.timer) clearTimeout(w.timer);
        w.resolve();
      } else keep.push(w);
    }
    if (keep.length) this.byOrigin.set(origin, keep);
    else this.byOrigin.delete(origin);
  }

  /** Rejects every waiter of one origin. */
  rejectOrigin(origin: number, err: Error): void {
    for (const w of this.byOrigin.get(origin) ?? []) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    this.byOrigin.delete(origin);
  }

  rejectAll(err: ReplicError): void {
    for (const origin of [...this.byOrigin.keys()]) this.rejectOrigin(origin, err);
  }
}
