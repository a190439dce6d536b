/**
 * Explicit NULLs. A patch that sets a column to NULL must be told apart from one that leaves it
 * out, but both read back as NULL from `T_patches`. The names of explicitly nulled columns go to
 * `T_patches._nulls` when the table has it, else to the `_replic_nulls` side table (rare writes:
 * un-deletes, cleared fields).
 */
import type { SqliteDriver, SqliteStatement } from "./driver.js";
import type { SchemaPatch } from "./local-patch.js";

export const NULLS_TABLE = "_replic_nulls";
/** Separates column names in a `_nulls` list (U+001F, never in a sane column name). */
export const NAME_SEPARATOR = "\u001f";

export function nullsTableDdl(): string {
  return `CREATE TABLE IF NOT EXISTS ${NULLS_TABLE} (
  peerId INTEGER NOT NULL, seq INTEGER NOT NULL, tbl TEXT NOT NULL, cols TEXT NOT NULL,
  PRIMARY KEY (peerId, seq)) WITHOUT ROWID`;
}

/** The columns a patch sets to NULL, joined by U+001F, or null when none. */
export function explicitNullNames(p: SchemaPatch): string | null {
  let names: string | null = null;
  const cols = p.table.schema.columns;
  for (let i = 0; i < p.cols.length; i++) {
    if (p.values[i] !== null) continue;
    const name = cols[p.cols[i]!]!.name;
    names = names === null ? name : names + NAME_SEPARATOR + name;
  }
  return names;
}

/** Statements shared by all tables for the explicit-NULL side table. */
export class NullStore {
  private readonly insert: SqliteStatement;
  private readonly purge: SqliteStatement;
  private readonly remove: SqliteStatement;
  constructor(driver: SqliteDriver) {
    driver.exec(nullsTableDdl());
    this.remove = driver.prepare(`DELETE FROM ${NULLS_TABLE} WHERE peerId = ? AND seq = ?`);
    this.purge = driver.prepare(`DELETE FROM ${NULLS_TABLE} WHERE peerId = ? AND seq <= ?`);
    this.insert = driver.prepare(`INSERT OR REPLACE INTO ${NULLS_TABLE} (peerId, seq, tbl, cols) VALUES (?, ?, ?, ?)`);
  }
  record(p: SchemaPatch): void {
    const names = explicitNullNames(p);
    if (names !== null) this.insert.run([p.peerId, p.seq, p.table.schema.name, names]);
  }
  deleteThrough(peerId: number, seq: number): void {
    this.purge.run([peerId, seq]);
  }
  forget(peerId: number, seq: number): void {
    this.remove.run([peerId, seq]);
  }
}
