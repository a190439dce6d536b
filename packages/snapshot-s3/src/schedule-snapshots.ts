/**
 * Snapshots on a jittered schedule. The rule that needs no leader: every peer uploads under its
 * own `<prefix>/<peerId>/` every `intervalMs` ± jitter (the first run falls at a random point of
 * the first interval, so peers started together do not upload together), and a restore takes
 * the newest complete snapshot of any peer. Losing any number of peers loses no snapshots of
 * the others.
 */
import type { SqliteDriver } from "@replic/core";
import { SnapshotError } from "./errors.js";
import { snapshotToS3, type SnapshotResult, type SnapshotToS3Options } from "./snapshot-to-s3.js";

export interface ScheduleOptions extends SnapshotToS3Options {
  /** Mean time between snapshots, ms. */
  intervalMs: number;
  /** Fraction of the interval to randomise each delay by, 0..1. Default 0.2. */
  jitter?: number;
  onSnapshot?: (r: SnapshotResult) => void;
  onError?: (err: unknown) => void;
}

export interface SnapshotSchedule {
  /** Takes a snapshot now (waits for a running one first). */
  runNow(): Promise<SnapshotResult>;
  /** Stops the timer and waits for a running snapshot to end. */
  stop(): Promise<void>;
}

export function scheduleSnapshots(driver: SqliteDriver, options: ScheduleOptions): SnapshotSchedule {
  const { intervalMs } = options;
  const jitter = options.jitter ?? 0.2;
  if (!(intervalMs > 0)) throw new SnapshotError("INVALID_OPTION", "intervalMs must be > 0");
  if (!(jitter >= 0 && jitter <= 1)) throw new SnapshotError("INVALID_OPTION", "jitter must be within 0..1");
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<SnapshotResult> | undefined;
  let stopped = false;

  const run = async (): Promise<SnapshotResult> => {
    while (running) await running.catch(() => undefined);
    return start();
  };
  const start = async (): Promise<SnapshotResult> => {
    running = snapshotToS3(driver, options);
    try {
      const r = await running;
      options.onSnapshot?.(r);
      return r;
    } finally {
      running = undefined;
    }
  };
  const arm = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(async () => {
      // A scheduled run waits for one in progress (runNow); stop() may come meanwhile.
      while (running) await running.catch(() => undefined);
      if (stopped) return;
      start()
        .catch((err) => options.onError?.(err))
        .finally(() => arm(intervalMs * (1 - jitter + 2 * jitter * Math.random())));
    }, delay);
    (timer as { unref?: () => void }).unref?.();
  };
  arm(intervalMs * Math.random());

  return {
    runNow: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
