/**
 * The one transaction bracket every writer uses (local writes, receive, migrate, gc, open):
 * BEGIN IMMEDIATE … COMMIT, or ROLLBACK plus the caller's undo of in-memory state. Savepoints
 * nest inside. A ROLLBACK that itself fails leaves SQLite in an unknown state: the bracket then
 * marks the replica broken (typed BROKEN on every later call) instead of going on half-open.
 */
import type { SqliteDriver, SqliteStatement } from "./driver.js";
import { ReplicError } from "./errors.js";

export class TxBracket {
  private readonly begin: SqliteStatement;
  private readonly commit: SqliteStatement;
  private readonly rollback: SqliteStatement;
  private readonly savepointStmt: SqliteStatement;
  private readonly release: SqliteStatement;
  private readonly rollbackTo: SqliteStatement;
  private open = false;
  /** Set when a rollback failed: the replica must not be used any more. */
  broken: ReplicError | undefined;

  constructor(private readonly driver: SqliteDriver) {
    this.begin = driver.prepare("BEGIN IMMEDIATE");
    this.commit = driver.prepare("COMMIT");
    this.rollback = driver.prepare("ROLLBACK");
    this.savepointStmt = driver.prepare("SAVEPOINT replic_sp");
    this.release = driver.prepare("RELEASE replic_sp");
    this.rollbackTo = driver.prepare("ROLLBACK TO replic_sp");
  }

  get active(): boolean {
    return this.open;
  }

  assertUsable(): void {
    if (this.broken) throw this.broken;
  }

  /**
   * Runs `fn` in a new transaction. On any error: ROLLBACK, then `undo()` (restore what `fn`
   * changed in memory), then rethrow.
   */
  run<T>(fn: () => T, undo: () => void): T {
    this.assertUsable();
    if (this.driver.transaction) return this.delegated(fn, undo);
    try {
      this.begin.run([]);
    } catch (err) {
      throw new ReplicError("TRANSACTION", `cannot start a transaction (is one already open on this database?): ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.open = true;
    try {
      const result = fn();
      this.commit.run([]);
      return result;
    } catch (err) {
      this.abort(err);
      undo();
      throw err;
    } finally {
      this.open = false;
    }
  }

  /** Runs `fn` under a savepoint of the open transaction; on error rolls back to it. */
  savepoint<T>(fn: () => T, undo: () => void): T {
    if (this.driver.transaction) return this.delegated(fn, undo);
    this.savepointStmt.run([]);
    try {
      const result = fn();
      this.release.run([]);
      return result;
    } catch (err) {
      try {
        this.rollbackTo.run([]);
        this.release.run([]);
      } catch (cause) {
        this.markBroken(cause);
      }
      undo();
      throw err;
    }
  }

  /** The driver brackets `fn` itself (and rolls back on a throw); nested calls are its savepoints. */
  private delegated<T>(fn: () => T, undo: () => void): T {
    const outer = !this.open;
    this.open = true;
    try {
      return this.driver.transaction!(fn);
    } catch (err) {
      undo();
      throw err;
    } finally {
      if (outer) this.open = false;
    }
  }

  private abort(err: unknown): void {
    try {
      this.rollback.run([]);
    } catch (cause) {
      // SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, ...): then there is
      // no transaction left and all is well. Otherwise try once more; a second failure leaves us
      // not knowing what is on disk.
      if (!this.inTransaction()) return;
      try {
        this.driver.exec("ROLLBACK");
      } catch {
        if (this.inTransaction()) this.markBroken(cause ?? err);
      }
    }
  }

  /** Whether SQLite still has a transaction open: BEGIN fails inside one. */
  private inTransaction(): boolean {
    try {
      this.driver.exec("BEGIN");
    } catch {
      return true;
    }
    try {
      this.driver.exec("ROLLBACK");
    } catch {
      return true;
    }
    return false;
  }

  private markBroken(cause: unknown): void {
    this.broken = new ReplicError(
      "BROKEN",
      `a ROLLBACK failed, so the database may be inside an unfinished transaction; this replica stops (close it and open a new one): ${String(
        (cause as Error)?.message ?? cause,
      )}`,
      { cause },
    );
  }
}
