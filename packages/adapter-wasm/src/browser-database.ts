/**
 * Opening the browser's database: an OPFS file through the `opfs-sahpool` VFS when the page runs
 * this in a dedicated worker of a browser that has OPFS, else an in-memory database.
 *
 * Why `opfs-sahpool` and not the `opfs` VFS: `opfs` makes synchronous calls into an async proxy
 * worker through `SharedArrayBuffer` + `Atomics.wait`, so the page must be cross-origin isolated
 * (COOP/COEP headers), which also blocks every cross-origin resource without CORP headers.
 * `opfs-sahpool` keeps a pool of `FileSystemSyncAccessHandle`s open in the worker itself: no
 * SharedArrayBuffer, no special headers, and it is the faster of the two. Its price: a pool is
 * exclusive to one worker at a time (it holds its files open), so two tabs cannot share one pool.
 *
 * Therefore every tab is its own replica (its own peer id, its own file), in a numbered slot:
 * slot N is the OPFS directory `.<name>-<N>`, owned by whoever holds the Web Lock
 * `replic:<name>:<N>`. A tab asks first for the slot it had before a reload (the page keeps it in
 * sessionStorage) and waits a moment for it, since the old document's worker may still be
 * shutting down; otherwise it takes the lowest free slot. Tabs then converge like any peers,
 * through the hub (and each keeps working offline). Replicas of closed tabs are ordinary peers
 * that went away: their slots are reused, with their data and peer ids, by the next tab.
 */
import { ReplicError } from "@replic/core";
import type { Oo1Database } from "./oo1";
import { holdWebLock, webLocks } from "./web-lock";

/** An oo1 database that can be closed and queried for objects (both DB and OpfsSAHPoolDb). */
export interface Oo1BrowserDatabase extends Oo1Database {
  close(): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- oo1's own BindingSpec
  selectObjects(sql: string, bind?: any): Record<string, unknown>[];
}

/** The part of the SAH pool utility object used here. */
export interface SahPoolUtilLike {
  OpfsSAHPoolDb: new (filename: string) => Oo1BrowserDatabase;
  pauseVfs?(): unknown;
}

/** The part of the `sqlite3` namespace used to open databases in a browser. */
export interface Sqlite3Browser {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- oo1.DB has several constructor forms
  oo1: { DB: new (...args: any[]) => Oo1BrowserDatabase };
  installOpfsSAHPoolVfs?(opts: { name?: string; directory?: string; initialCapacity?: number }): Promise<SahPoolUtilLike>;
}

export interface BrowserDatabaseOptions {
  /** Application name: names the file, the OPFS directories and the locks. [A-Za-z0-9_-], default "replic". */
  name?: string;
  /** The slot this tab had before (e.g. from sessionStorage); asked for first. */
  preferredSlot?: number;
  /** How long to wait for the preferred slot, ms (a reloading tab's old worker may hold it briefly). Default 3000. */
  waitMs?: number;
  /** Most slots, i.e. most tabs open at once with their own file. Default 16. */
  maxSlots?: number;
  /** "memory" forces an in-memory database (tests, private windows). Default "auto". */
  storage?: "auto" | "memory";
}

export interface BrowserDatabase {
  db: Oo1BrowserDatabase;
  /** Where the data lives: "opfs-sahpool" persists across reloads; "memory" does not. */
  storage: "opfs-sahpool" | "memory";
  /** The slot this tab owns (null in memory). */
  slot: number | null;
  /** Why OPFS was not used, when storage is "memory" and OPFS was asked for. */
  fallbackReason?: string;
  /** Closes the database and gives the slot back. */
  close(): void;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function opfsMissing(sqlite3: Sqlite3Browser): string | undefined {
  const g = globalThis as { navigator?: { storage?: { getDirectory?: unknown } }; FileSystemSyncAccessHandle?: unknown };
  if (typeof sqlite3.installOpfsSAHPoolVfs !== "function") return "this SQLite build has no opfs-sahpool VFS";
  if (typeof g.navigator?.storage?.getDirectory !== "function") return "no OPFS (navigator.storage.getDirectory)";
  if (typeof g.FileSystemSyncAccessHandle === "undefined") return "no FileSystemSyncAccessHandle: OPFS files open synchronously only in a dedicated worker";
  if (!webLocks()) return "no Web Locks (navigator.locks)";
  return undefined;
}

function memory(sqlite3: Sqlite3Browser, fallbackReason?: string): BrowserDatabase {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  return { db, storage: "memory", slot: null, ...(fallbackReason ? { fallbackReason } : {}), close: () => void db.close() };
}

export async function openBrowserDatabase(sqlite3: Sqlite3Browser, options: BrowserDatabaseOptions = {}): Promise<BrowserDatabase> {
  const name = options.name ?? "replic";
  if (!NAME.test(name)) throw new ReplicError("INVALID_OPTION", `replic: database name must match ${NAME}, got ${JSON.stringify(name)}`);
  const maxSlots = options.maxSlots ?? 16;
  if (!Number.isInteger(maxSlots) || maxSlots < 1) throw new ReplicError("INVALID_OPTION", "replic: maxSlots must be a positive integer");
  const preferred = options.preferredSlot;
  if (preferred !== undefined && (!Number.isInteger(preferred) || preferred < 0 || preferred >= maxSlots)) {
    throw new ReplicError("INVALID_OPTION", `replic: preferredSlot must be an integer in [0, ${maxSlots})`);
  }
  if (options.storage === "memory") return memory(sqlite3);
  const missing = opfsMissing(sqlite3);
  if (missing) return memory(sqlite3, missing);

  const locks = webLocks()!;
  const lockName = (slot: number) => `replic:${name}:${slot}`;
  let slot = -1;
  let release: (() => void) | null = null;
  if (preferred !== undefined) {
    release = await holdWebLock(locks, lockName(preferred), options.waitMs ?? 3000);
    if (release) slot = preferred;
  }
  for (let s = 0; !release && s < maxSlots; s++) {
    release = await holdWebLock(locks, lockName(s), 0);
    if (release) slot = s;
  }
  if (!release) throw new ReplicError("INVALID_OPTION", `replic: all ${maxSlots} database slots of "${name}" are in use by other tabs`);

  try {
    const pool = await sqlite3.installOpfsSAHPoolVfs!({ name: `${name}-${slot}`, directory: `.${name}-${slot}` });
    const db = new pool.OpfsSAHPoolDb(`/${name}.sqlite3`);
    const unlock = release;
    return {
      db,
      storage: "opfs-sahpool",
      slot,
      close() {
        db.close();
        pool.pauseVfs?.(); // lets go of the pool's access handles before the lock
        unlock();
      },
    };
  } catch (err) {
    release();
    return memory(sqlite3, `opfs-sahpool failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
