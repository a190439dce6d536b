/**
 * Migrations, tracked by position in `_replic_migrations` with their `up` and `down` text. A list
 * longer than what is applied applies the new ones; a shorter one rolls back, running the stored
 * `down` scripts of the extra migrations newest first (an older build rolling a newer schema
 * back does not know them). Each step is one transaction together with the table-contract check
 * and the high-water marks, so a failing step leaves the database exactly as it was.
 */
import { keepDropped, replayAliens } from "./alien-migration.js";
import type { AlienStore } from "./alien-store.js";
import type { Bookkeeping } from "./bookkeeping.js";
import type { DroppedValues } from "./dropped-values.js";
import { noEffects, type Effects } from "./effects.js";
import { MIGRATIONS_TABLE } from "./bookkeeping.js";
import type { Catalog } from "./catalog.js";
import type { HybridLogicalClock } from "./clock.js";
import type { SqliteDriver } from "./driver.js";
import { isReplicError, ReplicError, SchemaError } from "./errors.js";
import type { Logger } from "./options.js";
import type { TxBracket } from "./transaction.js";

export interface Migration {
  up: string;
  down: string;
}

export function checkMigrations(migrations: unknown): asserts migrations is Migration[] {
  if (!Array.isArray(migrations)) throw new ReplicError("INVALID_OPTION", "migrate() takes an array of {up, down}");
  migrations.forEach((m: Migration, i) => {
    if (!m || typeof m.up !== "string" || typeof m.down !== "string") {
      throw new ReplicError("INVALID_OPTION", `migration ${i + 1} needs string "up" and "down"`);
    }
  });
}

export interface MigrationRooms {
  driver: SqliteDriver;
  tx: TxBracket;
  book: Bookkeeping;
  catalog: Catalog;
  clock: HybridLogicalClock;
  alien: AlienStore;
  dropped: DroppedValues;
  now: () => number;
  logger?: Logger | undefined;
}

/**
 * Applies or rolls back, a step per transaction; yields each committed step's effects (the kept
 * alien patches it merged, for the merge event), so the caller publishes what committed even
 * when a later step fails.
 */
export function* applyMigrations(r: MigrationRooms, migrations: Migration[]): Generator<Effects> {
  const { driver } = r;
  const applied = driver
    .prepare(`SELECT version, up, down FROM ${MIGRATIONS_TABLE} ORDER BY version`)
    .all([])
    .map((row) => ({ version: Number(row[0]), up: String(row[1]), down: String(row[2]) }));
  // The common prefix must be the same text: an operator must notice a rewritten migration.
  const common = Math.min(applied.length, migrations.length);
  for (let i = 0; i < common; i++) {
    const a = applied[i]!;
    const m = migrations[i]!;
    if (a.version !== i + 1 || a.up !== m.up || a.down !== m.down) {
      throw new SchemaError("", undefined, `migration ${i + 1} differs from the one this database applied; migrations are append-only`, {
        code: "MIGRATION_MISMATCH",
      });
    }
  }
  for (let v = applied.length; v > migrations.length; v--) {
    yield step(r, `rolling back migration ${v}`, applied[v - 1]!.down, () => driver.prepare(`DELETE FROM ${MIGRATIONS_TABLE} WHERE version = ?`).run([v]));
  }
  const record = driver.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, up, down, appliedAt) VALUES (?, ?, ?, ?)`);
  for (let v = applied.length + 1; v <= migrations.length; v++) {
    const m = migrations[v - 1]!;
    yield step(r, `migration ${v}`, m.up, () => record.run([v, m.up, m.down, r.now()]));
  }
}

/**
 * One step in one transaction, with the contract check; a failure rolls all of it back. Values
 * of replicated columns the step drops are kept first; kept values it makes known are merged.
 */
function step(r: MigrationRooms, what: string, sql: string, record: () => void): Effects {
  const e = noEffects(false, undefined);
  try {
    r.tx.run(
      () => {
        keepDropped(r, sql);
        r.driver.exec(sql);
        record();
        r.catalog.reload(); // a step that breaks the table contract is rolled back
        e.replayed = replayAliens(r);
        r.catalog.visibility.settle();
        r.catalog.visibility.take();
        // The sequence and clock stay in _replic_state whatever the step dropped.
        r.book.persist(r.clock.current, r.catalog.tables.keys());
      },
      () => {
        r.catalog.reload();
        r.alien.recount();
      },
    );
  } catch (err) {
    if (isReplicError(err)) throw err;
    throw new SchemaError("", undefined, `${what} failed: ${(err as Error)?.message ?? String(err)}`);
  }
  return e;
}
