/**
 * Migrations: applied in order, each in its own transaction together with the table-contract
 * check, tracked by position in `_replic_migrations` (with its `up` and `down` text).
 */
import type { Bookkeeping } from "./bookkeeping.js";
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

export function applyMigrations(
  driver: SqliteDriver,
  tx: TxBracket,
  book: Bookkeeping,
  catalog: Catalog,
  clock: HybridLogicalClock,
  now: () => number,
  logger: Logger | undefined,
  migrations: Migration[],
): void {
  const applied = new Map(
    driver
      .prepare(`SELECT version, up FROM ${MIGRATIONS_TABLE}`)
      .all([])
      .map((r) => [Number(r[0]), String(r[1])]),
  );
  const record = driver.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, up, down, appliedAt) VALUES (?, ?, ?, ?)`);
  for (let i = 0; i < migrations.length; i++) {
    const version = i + 1;
    const m = migrations[i]!;
    const done = applied.get(version);
    if (done !== undefined) {
      if (done !== m.up) logger?.warn(`replic: migration ${version} differs from the one applied; keeping the applied one`);
      continue;
    }
    try {
      tx.run(
        () => {
          driver.exec(m.up);
          record.run([version, m.up, m.down, now()]);
          catalog.reload(); // a migration that breaks the table contract is rolled back
          // The sequence and clock stay in _replic_state whatever the migration dropped.
          book.persist(clock.current);
        },
        () => catalog.reload(),
      );
    } catch (err) {
      if (isReplicError(err)) throw err;
      throw new SchemaError("", undefined, `migration ${version} failed: ${(err as Error).message}`);
    }
  }
}
