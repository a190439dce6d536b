/**
 * Holding a Web Lock (`navigator.locks`) for as long as we like. The Web Locks API hands a lock
 * to a callback and keeps it until the callback's promise settles, and releases it by itself
 * when the holding document or worker goes away (tab closed, reload, crash): exactly what an
 * "I own this OPFS file" marker needs.
 */

/** The part of `navigator.locks` used here. */
export interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal; mode?: "exclusive" | "shared" },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown>;
}

export function webLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === "function" ? nav.locks : undefined;
}

/**
 * Takes lock `name`. `waitMs` 0: only if free right now; otherwise waits up to `waitMs`.
 * Resolves to a release function, or to null when the lock was not obtained.
 */
export function holdWebLock(locks: LockManagerLike, name: string, waitMs: number): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const controller = waitMs > 0 ? new AbortController() : undefined;
    const timer = controller ? setTimeout(() => controller.abort(), waitMs) : undefined;
    const options = controller ? { signal: controller.signal } : { ifAvailable: true };
    locks
      .request(name, options, (lock) => {
        if (timer !== undefined) clearTimeout(timer);
        if (!lock) {
          resolve(null);
          return undefined;
        }
        resolve(release);
        return held; // kept until release() is called or this context ends
      })
      .catch((err: unknown) => {
        if (timer !== undefined) clearTimeout(timer);
        if (controller?.signal.aborted) resolve(null);
        else reject(err);
      });
  });
}
