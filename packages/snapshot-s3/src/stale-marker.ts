/**
 * A replica that learns it is stale (`replica.on("stale")`: it fell behind what any neighbour
 * retains) cannot fix itself while open. The marker file `<db>.replic-stale` carries that fact
 * across the restart: the next `bootstrapFromSnapshot` sees it, re-seeds the database from the
 * newest snapshot, and removes it. The core keeps no such flag in the database (yet).
 */
import { existsSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import type { Replica } from "@replic/core";

export const staleMarkerPath = (dbPath: string): string => `${dbPath}.replic-stale`;

export function markStale(dbPath: string, reason = "stale"): void {
  writeFileSync(staleMarkerPath(dbPath), JSON.stringify({ reason, at: new Date().toISOString() }) + "\n");
}

export function isMarkedStale(dbPath: string): boolean {
  return existsSync(staleMarkerPath(dbPath));
}

/** The reason written by markStale, or undefined when not marked. */
export function staleReason(dbPath: string): string | undefined {
  if (!isMarkedStale(dbPath)) return undefined;
  try {
    return String((JSON.parse(readFileSync(staleMarkerPath(dbPath), "utf8")) as { reason?: unknown }).reason ?? "stale");
  } catch {
    return "stale";
  }
}

export function clearStale(dbPath: string): void {
  rmSync(staleMarkerPath(dbPath), { force: true });
}

/**
 * Writes the marker when the replica reports itself stale; `onStale` lets the app restart (or
 * close and bootstrap) at a moment of its choosing. Returns the unsubscribe function.
 */
export function markStaleOnEvent(replica: Pick<Replica, "on">, dbPath: string, onStale?: (err: Error) => void): () => void {
  return replica.on("stale", (err) => {
    markStale(dbPath, err.message);
    onStale?.(err);
  });
}
