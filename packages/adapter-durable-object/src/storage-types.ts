/**
 * The part of a Durable Object's storage (`ctx.storage`, SQLite-backed) this package uses, typed
 * structurally so the package needs no Workers type package and builds anywhere.
 */

/** A value `sql.exec` binds: it has no bigint and binds every number as REAL. */
export type DoBindable = null | number | string | ArrayBuffer | ArrayBufferView;

/** A value `sql.exec` returns: integers and reals as number, text as string, blobs as ArrayBuffer. */
export type DoSqlValue = null | number | string | ArrayBuffer;

export interface SqlStorageCursor {
  raw(): IterableIterator<DoSqlValue[]>;
  toArray(): Record<string, DoSqlValue>[];
  readonly columnNames: string[];
  readonly rowsRead: number;
  readonly rowsWritten: number;
}

export interface SqlStorage {
  exec(query: string, ...bindings: DoBindable[]): SqlStorageCursor;
  readonly databaseSize: number;
}

/** `ctx.storage` of a Durable Object declared in a `new_sqlite_classes` migration. */
export interface DurableObjectSqlStorage {
  readonly sql: SqlStorage;
  transactionSync<T>(fn: () => T): T;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
  deleteAlarm(): Promise<void>;
}
