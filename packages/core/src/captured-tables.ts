/**
 * The captured tables of one replica (the `capture` option), wired into it: the queue and its
 * TEMP triggers on the replica's connection (capture-queue.ts), the drain (capture-drain.ts), and
 * the points where replic drains before acting — before it merges a received message, sends,
 * or changes the schema — and switches capture off while it writes the tables itself.
 */
import { CaptureDrain } from "./capture-drain.js";
import { CaptureQueue, hasCaptureQueues } from "./capture-queue.js";
import type { Catalog } from "./catalog.js";
import type { SqliteDriver } from "./driver.js";
import { ReplicError } from "./errors.js";
import type { Logger } from "./options.js";

/** Drains the queue as one group in a transaction of its own (LocalWriter.flushCaptured). */
export type FlushCaptured = () => void;

export class CapturedTables {
  readonly queue: CaptureQueue;
  readonly drain: CaptureDrain;
  private flushFn: FlushCaptured | undefined;

  /** Present when capture is on, or when a queue is left to drain by an earlier process. */
  static open(driver: SqliteDriver, wanted: true | readonly string[] | undefined, catalog: Catalog, logger: Logger | undefined): CapturedTables | undefined {
    if (wanted === undefined && !hasCaptureQueues(driver)) return undefined;
    return new CapturedTables(driver, wanted, catalog, logger);
  }

  private constructor(
    driver: SqliteDriver,
    wanted: true | readonly string[] | undefined,
    private readonly catalog: Catalog,
    private readonly logger: Logger | undefined,
  ) {
    this.queue = new CaptureQueue(driver, wanted);
    this.drain = new CaptureDrain(driver, this.queue);
    this.install();
  }

  /** The writer's drain, once it exists (it is built with `drain`). */
  attach(flush: FlushCaptured): void {
    this.flushFn = flush;
  }

  /** (Re)installs the triggers for the replicated tables as they are now. */
  private install(): void {
    const q = this.queue;
    q.install([...this.catalog.tables.values()].map((t) => t.schema));
    if (q.wanted !== undefined && q.wanted !== true) {
      const missing = q.wanted.filter((name) => !this.catalog.tables.has(name));
      if (missing.length > 0) this.logger?.warn(`replic: capture names table(s) that do not replicate (yet): ${missing.join(", ")}`);
    }
  }

  /**
   * Drains what plain SQL committed. `deferrable`: when the application holds a transaction
   * open on the connection, the drain waits for a later call instead of failing.
   */
  flush(deferrable: boolean): void {
    try {
      this.flushFn?.();
    } catch (err) {
      if (deferrable && err instanceof ReplicError && err.code === "TRANSACTION") return;
      throw err;
    }
  }

  /** `fn` with capture off: replic's own writes to the tables are never captured again. */
  quiet<T>(fn: () => T): T {
    return this.queue.quiet(fn);
  }

  /**
   * Runs a schema change: what was captured is drained first (stamped under the schema it was
   * written in), the triggers are off during `fn` and installed again for the new columns after.
   */
  migrating<T>(fn: () => T): T {
    this.flush(false);
    this.queue.uninstall();
    this.queue.pause();
    try {
      return fn();
    } finally {
      this.queue.resume();
      this.install();
    }
  }
}
