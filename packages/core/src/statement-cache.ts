/**
 * Statements prepared on first use and kept: a store most replicas never touch (held patches,
 * incomplete groups, group bounds) prepares nothing at open.
 */
import type { SqliteDriver, SqliteStatement } from "./driver.js";

export class StatementCache {
  private readonly stmts = new Map<string, SqliteStatement>();

  constructor(private readonly driver: SqliteDriver) {}

  get(sql: string): SqliteStatement {
    let s = this.stmts.get(sql);
    if (s === undefined) this.stmts.set(sql, (s = this.driver.prepare(sql)));
    return s;
  }
}
