import { fail } from "./fail.js";
import type { ConformanceBinding, ReplicaLike, ReplicaOptionsLike } from "./types.js";

export type Migrations = { up: string; down: string }[];

/** Replicated table used by most tests: every storage class plus a nullable deletedAt. */
export const ITEMS_DDL =
  `CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, name TEXT, data BLOB, deletedAt INTEGER);\n` +
  `CREATE TABLE items_patches (id INTEGER, qty INTEGER, price REAL, name TEXT, data BLOB, deletedAt INTEGER,\n` +
  `  _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`;

export const ITEMS: Migrations = [{ up: ITEMS_DDL, down: `DROP TABLE items_patches; DROP TABLE items;` }];

export interface Opened<Db> {
  db: Db;
  r: ReplicaLike;
}

/** Opens databases and replicas and closes all of them afterwards. */
export class Harness<Db> {
  private dbs: Db[] = [];
  private replicas: ReplicaLike[] = [];

  constructor(readonly b: ConformanceBinding<Db>) {}

  db(path = ":memory:"): Db {
    const db = this.b.openDatabase(path);
    this.dbs.push(db);
    return db;
  }

  replica(db: Db, options: ReplicaOptionsLike = {}): ReplicaLike {
    const r = this.b.adapter.openReplica(db, { heartbeatMs: 0, ...options });
    this.replicas.push(r);
    return r;
  }

  /** Closes `r` with the others (for replicas opened another way, e.g. on a wrapped driver). */
  adopt(r: ReplicaLike): ReplicaLike {
    this.replicas.push(r);
    return r;
  }

  /** A fresh database with a replica on it, migrated. */
  open(migrations: Migrations = ITEMS, options: ReplicaOptionsLike = {}, path = ":memory:"): Opened<Db> {
    const db = this.db(path);
    const r = this.replica(db, options);
    r.migrate(migrations);
    return { db, r };
  }

  closeAll(): void {
    for (const r of this.replicas.splice(0)) {
      try {
        r.close();
      } catch {
        /* already closed */
      }
    }
    for (const db of this.dbs.splice(0)) {
      try {
        this.b.closeDatabase(db);
      } catch {
        /* already closed */
      }
    }
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}\n${e.stack ?? ""}`;
  return String(e);
}

/**
 * Runs `fn`, which must throw an instance of `cls` that is also a ReplicError with a non-empty
 * string `code`. Returns the error.
 */
export function expectTyped<Db>(
  b: ConformanceBinding<Db>,
  fn: () => unknown,
  classes: (keyof Pick<typeof b.adapter, "SchemaError" | "ValidationError" | "DecodeError" | "TimeoutError">)[],
  what: string,
): Error & { code: string } {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (e) {
    thrown = e;
    threw = true;
  }
  if (!threw) fail(`${what}: expected ${classes.join(" or ")}, but nothing was thrown`);
  const ok = classes.some((c) => thrown instanceof b.adapter[c]);
  if (!ok || !(thrown instanceof b.adapter.ReplicError)) {
    fail(`${what}: expected ${classes.join(" or ")} (a ReplicError), got ${describeError(thrown)}`);
  }
  const code = (thrown as { code?: unknown }).code;
  if (typeof code !== "string" || code.length === 0) {
    fail(`${what}: ${String((thrown as Error).name)} has no string code (got ${String(code)})`);
  }
  return thrown as Error & { code: string };
}

/** Awaits `p`, which must reject with the given typed error. */
export async function expectTypedRejection<Db>(
  b: ConformanceBinding<Db>,
  p: Promise<unknown>,
  cls: "TimeoutError" | "ValidationError",
  what: string,
): Promise<void> {
  let thrown: unknown;
  let threw = false;
  try {
    await p;
  } catch (e) {
    thrown = e;
    threw = true;
  }
  if (!threw) fail(`${what}: expected a rejection with ${cls}, but it resolved`);
  if (!(thrown instanceof b.adapter[cls]) || !(thrown instanceof b.adapter.ReplicError)) {
    fail(`${what}: expected ${cls}, got ${describeError(thrown)}`);
  }
}
