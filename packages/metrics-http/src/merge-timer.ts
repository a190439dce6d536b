/**
 * Times every `replica.receive` call (decode and merge of one incoming message, i.e. one merge
 * batch) into a histogram, by wrapping the instance's method. A stopgap until the core measures
 * merge batches itself; `restore()` puts the original method back.
 */
import type { Replica } from "@replic/core";
import { Histogram } from "./histogram.js";

export interface MergeTimer {
  readonly histogram: Histogram;
  text(): string;
  restore(): void;
}

export function timeMerges(replica: Replica, histogram = new Histogram("replic_merge_batch_duration_seconds", "Time to decode and merge one incoming message, seconds.")): MergeTimer {
  const original = replica.receive;
  const timed = function (this: Replica, from: number, message: Uint8Array): void {
    const t0 = performance.now();
    try {
      original.call(this, from, message);
    } finally {
      histogram.observe((performance.now() - t0) / 1000);
    }
  };
  (replica as { receive: Replica["receive"] }).receive = timed;
  return {
    histogram,
    text: () => histogram.text(),
    restore() {
      if (replica.receive === timed) (replica as { receive: Replica["receive"] }).receive = original;
    },
  };
}
