/**
 * The small surface the conformance suite needs from an adapter and its native database.
 * Structural on purpose: each adapter passes its own module (`import * as adapter`), which must
 * fit these shapes; nothing here imports an adapter.
 */

export type SqlValue = null | number | bigint | string | Uint8Array;

export interface ReplicaOptionsLike {
  peerId?: number;
  heartbeatMs?: number;
  now?: () => number;
  retentionMs?: number;
  maxBatchPatches?: number;
  maxInflightPatches?: number;
  requestTimeoutMs?: number;
  maxClockDriftMs?: number;
  capture?: true | string[];
  scope?: { [table: string]: { [keyColumn: string]: SqlValue[] } };
  scrub?: { rowsPerRound?: number };
  repair?: "report" | "rebuild";
}

/** The divergence event (rows of a table that differ from the merge of their patches). */
export interface DivergenceEventLike {
  table: string;
  kind: "changed" | "missing" | "shown-parked";
  keys: Record<string, unknown>[];
  range: { from: Record<string, unknown>; to: Record<string, unknown> };
  repaired: boolean;
}

export interface ReplicaLike {
  readonly peerId: number;
  migrate(migrations: { up: string; down: string }[]): void;
  upsert(table: string, row: Record<string, unknown>): string;
  upsertMany(table: string, rows: Record<string, unknown>[]): string[];
  gc(): number;
  transaction<T>(fn: () => T): T;
  addPeer(peerId: number, send: (message: Uint8Array) => void, options?: { allow?: { [table: string]: { [keyColumn: string]: SqlValue[] } } }): void;
  removePeer(peerId: number): void;
  receive(fromPeerId: number, message: Uint8Array): void;
  tick(): void;
  flush(): string | null;
  waitFor(token: string, timeoutMs?: number): Promise<void>;
  status(): unknown;
  metrics(): string;
  close(): void;
  on(event: "merge", listener: (e: { tables: string[] }) => void): () => void;
  on(event: "divergence", listener: (e: DivergenceEventLike) => void): () => void;
  rebuild(
    table?: string,
    options?: { batchSize?: number; maxKeys?: number },
  ): { table: string; changed: number; inserted: number; updated: number; removed: number; keys: Record<string, unknown>[] }[];
  parked(table?: string): { table: string; key: Record<string, unknown>; reason: string; detail: string | null }[];
  adopt(table: string, options?: { batchSize?: number; onProgress?: (p: { table: string; adopted: number; total: number }) => void }): number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** A statement of the core's SqliteDriver interface (positional parameters, rows as arrays). */
export interface StatementLike {
  run(params: readonly SqlValue[]): number;
  get(params: readonly SqlValue[]): SqlValue[] | undefined;
  all(params: readonly SqlValue[]): SqlValue[][];
}

/** The core's SqliteDriver interface, which fault-injection tests wrap. */
export interface DriverLike {
  readonly name: string;
  exec(sql: string): void;
  prepare(sql: string): StatementLike;
  release?(): void;
  /** Runs `fn` in one transaction, where the binding refuses BEGIN (a Durable Object's storage). */
  transaction?<T>(fn: () => T): T;
}

/** What an adapter module (which re-exports all of @replic/core) must provide. */
export interface AdapterModule<Db> {
  createDriver(db: Db): DriverLike;
  createReplica(driver: DriverLike, options?: ReplicaOptionsLike): ReplicaLike;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  encodeWire(message: any, version?: number): Uint8Array;
  decodeWire(bytes: Uint8Array): unknown;
  crc32(bytes: Uint8Array, end?: number): number;
  openReplica(db: Db, options?: ReplicaOptionsLike): ReplicaLike;
  patchesDdl(db: Db, table: string): string;
  decodeMessage(bytes: Uint8Array): unknown;
  encodeMessage(message: { kind: "patches"; patches: { table: string; peerId: number; seq: number; patchedAt: number; values: Record<string, null | number | bigint | string | Uint8Array> }[] }): Uint8Array;
  watch<R = Record<string, unknown>>(
    replica: ReplicaLike,
    sql: string,
    params: readonly unknown[],
    onRows: (rows: R[]) => void,
    options?: { tables?: readonly string[]; onError?: (err: unknown) => void },
  ): { close(): void; refresh(): Promise<void>; readonly tables: Promise<readonly string[] | null> };
  watch<R = Record<string, unknown>>(replica: ReplicaLike, sql: string, onRows: (rows: R[]) => void): { close(): void };
  ReplicError: ErrorClass;
  SchemaError: ErrorClass;
  ValidationError: ErrorClass;
  DecodeError: ErrorClass;
  TimeoutError: ErrorClass;
}

export interface ConformanceBinding<Db> {
  /** Short file-safe name of the binding, e.g. "better-sqlite3", "bun-sqlite", "wasm". */
  name: string;
  /** The adapter package's module namespace (`import * as adapter from "..."`). */
  adapter: AdapterModule<Db>;
  /** Opens a native database handle; ":memory:" opens an in-memory database. */
  openDatabase(path: string): Db;
  closeDatabase(db: Db): void;
  /** Runs SQL without results (may hold several statements). */
  exec(db: Db, sql: string): void;
  /** Runs a query and returns its rows as plain objects. */
  all(db: Db, sql: string): Record<string, unknown>[];
  /**
   * How to start the crash-test child under this runtime; see `crashChildCommand()`.
   * The suite appends: <dbPath> <runIndex>.
   */
  childCommand: { cmd: string; args: string[] };
  /**
   * Journal modes the crash test runs in: "wal" (journal_mode=WAL, synchronous=NORMAL) and
   * "delete" (the rollback journal). Default both; node-sqlite3-wasm has no WAL.
   */
  journalModes?: ("wal" | "delete")[];
  /**
   * The adapter holds a database file for one process at a time (node-sqlite3-wasm: its lock
   * cannot tell a crashed holder from a live one, so the adapter records the holder): a second
   * process opening it is refused with DATABASE_LOCKED naming the holder's pid, instead of
   * writing on beside it. Default false: the second process opens and the first is fenced.
   */
  oneProcessPerFile?: boolean;
}
