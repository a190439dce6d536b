/**
 * A replica: one SQLite database taking part in replication. It owns the local write path
 * (validate → patch + merge + sequence in one transaction → send), applies remote messages,
 * and runs the anti-entropy protocol (heartbeats, gap requests, relay) over opaque links.
 * Transports live outside: a link is just `send(bytes)` one way and `receive(bytes)` the other.
 */
import { HybridLogicalClock, msFromTimestamp, timestampFromMs } from "./clock.js";
import {
  DEFAULT_LIMITS,
  PatchesEncoder,
  decodeWire,
  encodeWire,
  type DecodeLimits,
  type HeartbeatMessage,
  type PatchesMessage,
  type PeerHead,
  type RequestMessage,
  type WireMessage,
  type WirePatch,
  type WireTable,
} from "./codec.js";
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { ReplicError, SchemaError, StaleReplicaError, TimeoutError, ValidationError } from "./errors.js";
import { DuplicateInBatchError, NullStore, nullsTableDdl, TableMerger, type LocalPatch } from "./merge.js";
import { Metrics } from "./metrics.js";
import { OriginState, PeerStates } from "./peer-state.js";
import { checkValue, discoverTables, ensurePatchIndexes, type TableSchema } from "./schema.js";
import { GapRepair, type Link } from "./anti-entropy.js";

export interface Logger {
  warn(message: string, detail?: unknown): void;
  debug?(message: string, detail?: unknown): void;
}

export interface ReplicaOptions {
  /** uint32 identity of this peer; generated and persisted in the database when absent. */
  peerId?: number;
  /** Heartbeat / anti-entropy period in ms. 0 = no timer; call tick(). Default 1000. */
  heartbeatMs?: number;
  /** Wall clock in ms. Default Date.now. */
  now?: () => number;
  /** A remote clock further ahead of ours than this (ms) is not followed. Default 60 000. */
  maxClockDriftMs?: number;
  /** Patches older than this (ms) may be garbage-collected. Default 7 days. 0 = keep forever. */
  retentionMs?: number;
  /** Most patches in one outgoing message. Default 5000. */
  maxBatchPatches?: number;
  /** Most patches requested from one neighbour and not yet received. Default 50 000. */
  maxInflightPatches?: number;
  /** A gap request not answered within this many ms is asked again (with back-off). Default 2 × heartbeat, at least 200. */
  requestTimeoutMs?: number;
  /** Decoder limits for incoming messages. */
  limits?: Partial<DecodeLimits>;
  /** Default timeout of waitFor(), ms. Default 30 000. */
  waitTimeoutMs?: number;
  logger?: Logger;
}

export interface OriginStatus {
  peerId: number;
  contiguous: number;
  highest: number;
  retainedFrom: number;
  /** Sequences known to exist (from anyone's heartbeat) that this replica lacks. */
  missing: number;
  /** True when no neighbour retains what this replica lacks: it needs a re-seed. */
  stale: boolean;
}

export interface PeerStatus {
  peerId: number;
  /** Wall-clock ms of the last message from this neighbour, or null. */
  lastContact: number | null;
  /** Patches this replica holds that the neighbour (per its last heartbeat) lacks. */
  lag: number;
  /** Patches the neighbour holds that this replica lacks. */
  behind: number;
  /** Neighbour's clock minus ours, ms, from its last heartbeat (null before one arrived). */
  clockDriftMs: number | null;
  /** What the neighbour holds of each origin (contiguous, highest, retained), from its last heartbeat. */
  heads: PeerHead[];
}

export interface ReplicaStatus {
  peerId: number;
  binding: string;
  tables: string[];
  sequence: number;
  clock: number;
  origins: OriginStatus[];
  peers: PeerStatus[];
  staleOrigins: number[];
  closed: boolean;
}

export type ReplicaEvent = "stale" | "merge";
export interface MergeEvent {
  local: boolean;
  patches: number;
}

interface MergeResult {
  applied: LocalPatch[];
  duplicates: number;
  tooOld: number;
  tooOldOrigins: Set<number>;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const STATE_TABLE = "_replic_state";
const PEERS_TABLE = "_replic_peers";
const MIGRATIONS_TABLE = "_replic_migrations";

/** Upper bound of the bytes one outgoing patches message may carry, roughly. */
const MAX_MESSAGE_PAYLOAD = 4 * 1024 * 1024;

export class Replica {
  readonly peerId: number;
  private readonly driver: SqliteDriver;
  private readonly now: () => number;
  private readonly clock: HybridLogicalClock;
  private readonly metricsRegistry = new Metrics();
  private readonly origins = new PeerStates();
  private readonly links = new Map<number, Link>();
  private readonly gaps: GapRepair;
  private readonly waiters = new Map<number, Waiter[]>();
  private readonly listeners = new Map<ReplicaEvent, Set<(e: unknown) => void>>();
  private readonly opts: Required<Omit<ReplicaOptions, "peerId" | "now" | "logger" | "limits">>;
  private readonly limits: DecodeLimits;
  private readonly logger: Logger | undefined;
  private tables = new Map<string, TableMerger>();
  private nulls!: NullStore;
  private seq: number;
  private highestTs: number;
  private gcHorizon: number;
  private readonly stale = new Set<number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private inTransaction = false;
  private txCount = 0;
  /** Tables with patches queued in the open local transaction. */
  private readonly txTables = new Set<TableMerger>();
  private txOut: PatchBatcher | undefined;
  /** Reused for every local write: the engine does not keep it past the call. */
  private readonly scratch: LocalPatch = { table: undefined as unknown as TableMerger, peerId: 0, seq: 0, patchedAt: 0, cols: [], values: [] };
  private readonly colKey: number[] = [];
  private rowCols: number[] = [];
  private outbox: Array<[Link, Uint8Array]> = [];
  private flushing = false;
  private closed = false;
  private ticks = 0;
  private readonly stmts: {
    begin: SqliteStatement;
    commit: SqliteStatement;
    rollback: SqliteStatement;
    savepoint: SqliteStatement;
    release: SqliteStatement;
    rollbackTo: SqliteStatement;
    saveState: SqliteStatement;
    savePeer: SqliteStatement;
  };

  constructor(driver: SqliteDriver, options: ReplicaOptions = {}) {
    this.driver = driver;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    const heartbeatMs = options.heartbeatMs ?? 1000;
    this.opts = {
      heartbeatMs,
      maxClockDriftMs: options.maxClockDriftMs ?? 60_000,
      retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
      maxBatchPatches: options.maxBatchPatches ?? 5000,
      maxInflightPatches: options.maxInflightPatches ?? 50_000,
      requestTimeoutMs: options.requestTimeoutMs ?? Math.max(200, 2 * heartbeatMs),
      waitTimeoutMs: options.waitTimeoutMs ?? 30_000,
    };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    for (const [k, v] of Object.entries(this.opts)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new ReplicError("INVALID_OPTION", `option ${k} must be a non-negative number, got ${String(v)}`);
      }
    }
    if (options.peerId !== undefined && !isUint32(options.peerId)) {
      throw new ReplicError("INVALID_OPTION", `peerId must be a uint32, got ${String(options.peerId)}`);
    }
    this.declareMetrics();
    this.gaps = new GapRepair(this.links, this.origins, this.opts, this.metricsRegistry, {
      request: (link, ranges) => this.queue(link, encodeWire({ kind: "request", ranges }), "request"),
      stale: (origin, reason) => this.markStale(origin, reason),
      caughtUp: (origin) => {
        if (this.stale.delete(origin)) this.metricsRegistry.set("stale_origins", this.stale.size);
      },
    });

    driver.exec(`CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (
      id INTEGER PRIMARY KEY CHECK (id = 1), peerId INTEGER NOT NULL, seq INTEGER NOT NULL,
      clock INTEGER NOT NULL, highestTs INTEGER NOT NULL, gcHorizon INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS ${PEERS_TABLE} (
      peerId INTEGER PRIMARY KEY, contiguous INTEGER NOT NULL, highest INTEGER NOT NULL,
      retainedFrom INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version INTEGER PRIMARY KEY, up TEXT NOT NULL, down TEXT NOT NULL, appliedAt INTEGER NOT NULL);
    ${nullsTableDdl()};`);
    this.stmts = {
      begin: driver.prepare("BEGIN IMMEDIATE"),
      commit: driver.prepare("COMMIT"),
      rollback: driver.prepare("ROLLBACK"),
      savepoint: driver.prepare("SAVEPOINT replic_batch"),
      release: driver.prepare("RELEASE replic_batch"),
      rollbackTo: driver.prepare("ROLLBACK TO replic_batch"),
      saveState: driver.prepare(`UPDATE ${STATE_TABLE} SET seq = ?, clock = ?, highestTs = ?, gcHorizon = ? WHERE id = 1`),
      savePeer: driver.prepare(
        `INSERT INTO ${PEERS_TABLE} (peerId, contiguous, highest, retainedFrom) VALUES (?, ?, ?, ?)
         ON CONFLICT (peerId) DO UPDATE SET contiguous = excluded.contiguous, highest = excluded.highest, retainedFrom = excluded.retainedFrom`,
      ),
    };

    let state = driver.prepare(`SELECT peerId, seq, clock, highestTs, gcHorizon FROM ${STATE_TABLE} WHERE id = 1`).get([]);
    if (!state) {
      const peerId = options.peerId ?? randomPeerId();
      driver.prepare(`INSERT INTO ${STATE_TABLE} (id, peerId, seq, clock, highestTs) VALUES (1, ?, 0, 0, 0)`).run([peerId]);
      state = [peerId, 0, 0, 0, 0];
    }
    const storedPeer = Number(state[0]);
    if (options.peerId !== undefined && options.peerId !== storedPeer) {
      throw new ReplicError(
        "INVALID_OPTION",
        `this database belongs to peer ${storedPeer}; it cannot be opened as peer ${options.peerId}`,
      );
    }
    this.peerId = storedPeer;
    this.gcHorizon = Number(state[4]);
    this.loadSchema();
    // Local transactions do not rewrite the state row (one page less per commit): the own
    // sequence and clock are the highest of what was persisted and what the own patches hold.
    let ownSeq = Number(state[1]);
    let ownTs = 0;
    for (const t of this.tables.values()) {
      const [seq, ts] = t.lastOf(this.peerId);
      if (seq > ownSeq) ownSeq = seq;
      if (ts > ownTs) ownTs = ts;
    }
    this.seq = ownSeq;
    this.highestTs = Math.max(Number(state[3]), ownTs);
    // The clock never goes backwards across restarts.
    this.clock = new HybridLogicalClock(this.now, this.opts.maxClockDriftMs, Math.max(Number(state[2]), ownTs));
    this.loadOrigins();
    const own = this.origins.get(this.peerId);
    if (own.contiguous < this.seq) own.contiguous = this.seq;
    if (own.highest < this.seq) own.highest = this.seq;

    if (this.opts.heartbeatMs > 0) {
      this.timer = setInterval(() => {
        try {
          this.tick();
        } catch (err) {
          this.logger?.warn("replic: heartbeat failed", err);
        }
      }, this.opts.heartbeatMs);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Schema

  /** Applies, in order, the migrations this database has not applied yet (by position). */
  migrate(migrations: { up: string; down: string }[]): void {
    this.assertOpen();
    if (!Array.isArray(migrations)) throw new ReplicError("INVALID_OPTION", "migrate() takes an array of {up, down}");
    migrations.forEach((m, i) => {
      if (!m || typeof m.up !== "string" || typeof m.down !== "string") {
        throw new ReplicError("INVALID_OPTION", `migration ${i + 1} needs string "up" and "down"`);
      }
    });
    if (this.inTransaction) throw new ReplicError("TRANSACTION", "migrate() cannot run inside transaction()");
    const applied = new Map(
      this.driver
        .prepare(`SELECT version, up FROM ${MIGRATIONS_TABLE}`)
        .all([])
        .map((r) => [Number(r[0]), String(r[1])]),
    );
    const record = this.driver.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, up, down, appliedAt) VALUES (?, ?, ?, ?)`);
    for (let i = 0; i < migrations.length; i++) {
      const version = i + 1;
      const m = migrations[i]!;
      const done = applied.get(version);
      if (done !== undefined) {
        if (done !== m.up) this.logger?.warn(`replic: migration ${version} differs from the one applied; keeping the applied one`);
        continue;
      }
      this.stmts.begin.run([]);
      try {
        this.driver.exec(m.up);
        record.run([version, m.up, m.down, this.now()]);
        this.loadSchema(); // a migration that breaks the table contract is rolled back
        this.stmts.commit.run([]);
      } catch (err) {
        this.stmts.rollback.run([]);
        this.loadSchema();
        if (err instanceof ReplicError) throw err;
        throw new SchemaError("", undefined, `migration ${version} failed: ${(err as Error).message}`);
      }
    }
  }

  private loadSchema(): void {
    const schemas = discoverTables(this.driver);
    for (const s of schemas) ensurePatchIndexes(this.driver, s);
    this.nulls = new NullStore(this.driver);
    const next = new Map<string, TableMerger>();
    for (const s of schemas) next.set(s.name, new TableMerger(this.driver, s, this.nulls));
    this.tables = next;
  }

  /** Rebuilds per-origin heads from the persisted table plus the patches above `contiguous`. */
  private loadOrigins(): void {
    this.origins.origins.clear();
    for (const r of this.driver.prepare(`SELECT peerId, contiguous, highest, retainedFrom FROM ${PEERS_TABLE}`).all([])) {
      const o = this.origins.get(Number(r[0]));
      o.contiguous = Number(r[1]);
      o.highest = Number(r[2]);
      o.retainedFrom = Number(r[3]);
      for (const t of this.tables.values()) {
        for (const s of t.sequencesAbove(o.peerId, o.contiguous)) {
          if (s > o.contiguous) o.add(s);
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Local writes

  /**
   * Writes a patch: the primary key plus the columns to set (null sets NULL, absent columns
   * are untouched). Returns the session token "<peerId>.<sequenceId>".
   */
  upsert(table: string, row: Record<string, unknown>): string {
    this.assertOpen();
    const merger = this.tableFor(table);
    const values = this.validateRow(merger, row);
    const cols = this.rowCols;
    if (this.inTransaction) return this.writeLocal(merger, cols, values);
    return this.transaction(() => this.writeLocal(merger, cols, values));
  }

  private tableFor(table: string): TableMerger {
    const merger = this.tables.get(table);
    if (!merger) {
      throw new ValidationError("UNKNOWN_TABLE", `"${String(table)}" is not a replicated table (it needs a "${String(table)}_patches" sibling)`, {
        table: String(table),
      });
    }
    return merger;
  }

  /**
   * Writes many rows of one table in one transaction and one batch, many rows per SQLite
   * statement: the fastest way to load data. Any failure, a bad row included, writes nothing.
   * Returns the session token of each row.
   */
  upsertMany(table: string, rows: readonly Record<string, unknown>[]): string[] {
    this.assertOpen();
    const merger = this.tableFor(table);
    if (!Array.isArray(rows)) throw new ValidationError("INVALID_ROW", "upsertMany() takes an array of rows", { table });
    // Outside a transaction: validate, write and encode row by row in one new transaction; a
    // failure rolls all of it back. Inside one: validate everything first and write under a
    // savepoint, and only then queue the rows for sending.
    if (!this.inTransaction) return this.transaction(() => this.writeMany(merger, rows));
    const values: SqlValue[][] = new Array(rows.length);
    const cols: number[][] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      values[i] = this.validateRow(merger, rows[i]!);
      cols[i] = this.rowCols;
    }
    return this.savepoint(() => {
      const tokens: string[] = new Array(rows.length);
      const stamps: number[] = new Array(rows.length);
      const firstSeq = this.seq + 1;
      try {
        for (let i = 0; i < rows.length; i++) stamps[i] = this.queueLocal(merger, firstSeq + i, cols[i]!, values[i]!);
        merger.flush();
      } catch (err) {
        merger.discard();
        throw wrapSqliteError(err, merger.schema.name);
      }
      for (let i = 0; i < rows.length; i++) {
        this.txOut?.add(merger, this.peerId, firstSeq + i, stamps[i]!, cols[i]!, values[i]!);
        tokens[i] = `${this.peerId}.${firstSeq + i}`;
      }
      this.seq = firstSeq + rows.length - 1;
      this.txCount += rows.length;
      return tokens;
    });
  }

  /** upsertMany in its own transaction: nothing is kept per row beyond its token. */
  private writeMany(merger: TableMerger, rows: readonly Record<string, unknown>[]): string[] {
    const tokens: string[] = new Array(rows.length);
    try {
      for (let i = 0; i < rows.length; i++) {
        const values = this.validateRow(merger, rows[i]!);
        const cols = this.rowCols;
        const seq = this.seq + 1;
        const patchedAt = this.queueLocal(merger, seq, cols, values);
        this.seq = seq;
        this.txCount++;
        this.txOut?.add(merger, this.peerId, seq, patchedAt, cols, values);
        tokens[i] = `${this.peerId}.${seq}`;
      }
      merger.flush();
    } catch (err) {
      merger.discard();
      throw wrapSqliteError(err, merger.schema.name);
    }
    return tokens;
  }

  /** Stamps a local patch and queues it (patch row and merge) for batched writing; returns its timestamp. */
  private queueLocal(merger: TableMerger, seq: number, cols: number[], values: SqlValue[]): number {
    const p = this.localPatch(merger, seq, cols, values);
    merger.queuePatch(p);
    merger.queueMerge(p, p.patchedAt > this.highestTs);
    if (p.patchedAt > this.highestTs) this.highestTs = p.patchedAt;
    return p.patchedAt;
  }

  /** The reused scratch patch, filled for a new local write with a fresh timestamp. */
  private localPatch(merger: TableMerger, seq: number, cols: number[], values: SqlValue[]): LocalPatch {
    const p = this.scratch;
    p.table = merger;
    p.peerId = this.peerId;
    p.seq = seq;
    p.patchedAt = this.clock.next();
    p.cols = cols;
    p.values = values;
    return p;
  }

  private savepoint<T>(fn: () => T): T {
    const highestBefore = this.highestTs;
    // Queued rows of the enclosing transaction are written first: a rollback to the savepoint
    // must not take them along.
    for (const t of this.txTables) t.flush();
    this.stmts.savepoint.run([]);
    try {
      const result = fn();
      this.stmts.release.run([]);
      return result;
    } catch (err) {
      this.stmts.rollbackTo.run([]);
      this.stmts.release.run([]);
      this.highestTs = highestBefore;
      throw err;
    }
  }

  /**
   * Runs `fn` in one SQLite transaction; every upsert inside is committed together and sent as
   * one batch. If `fn` throws, nothing is written or sent and no sequence number is used.
   */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    if (this.inTransaction) return fn();
    const seqBefore = this.seq;
    const highestBefore = this.highestTs;
    try {
      this.stmts.begin.run([]);
    } catch (err) {
      throw new ReplicError("TRANSACTION", `cannot start a transaction (is one already open on this database?): ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.inTransaction = true;
    // Local patches are encoded as they are written (nothing is kept until commit) and only
    // when someone is linked to receive them.
    this.txCount = 0;
    this.txOut = this.links.size > 0 ? new PatchBatcher(this.opts.maxBatchPatches) : undefined;
    let result: T;
    try {
      result = fn();
      if (result instanceof Promise) {
        throw new ReplicError("TRANSACTION", "transaction() takes a synchronous function");
      }
      for (const t of this.txTables) t.flush();
      this.txTables.clear();
      this.stmts.commit.run([]);
    } catch (err) {
      for (const t of this.txTables) t.discard();
      this.txTables.clear();
      try {
        this.stmts.rollback.run([]);
      } catch {
        // SQLite may already have rolled back (e.g. on SQLITE_FULL); nothing left to undo.
      }
      this.seq = seqBefore;
      this.highestTs = highestBefore;
      this.txOut = undefined;
      throw err;
    } finally {
      this.inTransaction = false;
    }
    const count = this.txCount;
    const out = this.txOut;
    this.txOut = undefined;
    if (count > 0) {
      const own = this.origins.get(this.peerId);
      own.contiguous = this.seq;
      own.highest = this.seq;
      this.metricsRegistry.inc("patches_local_total", count);
      this.resolveWaiters(own);
      if (this.listeners.has("merge")) this.emit("merge", { local: true, patches: count } satisfies MergeEvent);
      if (out) {
        const messages = out.finish();
        for (const link of this.links.values()) for (const m of messages) this.queue(link, m, "patches");
      }
      this.flush();
    }
    return result;
  }

  /**
   * Row → checked values in column order; the matching column indexes are left in `rowCols`
   * (a shared array per column set, so nothing per row is kept). Walks the schema, not the object.
   */
  private validateRow(merger: TableMerger, row: Record<string, unknown>): SqlValue[] {
    const schema = merger.schema;
    if (row === null || typeof row !== "object" || Array.isArray(row) || row instanceof Uint8Array) {
      throw new ValidationError("INVALID_ROW", `a row for "${schema.name}" must be a plain object`, { table: schema.name });
    }
    const columns = schema.columns;
    const names = merger.columnNames;
    const values: SqlValue[] = [];
    const key = this.colKey;
    let n = 0;
    for (let ci = 0; ci < names.length; ci++) {
      const v = row[names[ci]!];
      if (v === undefined) continue;
      if (typeof v === "function" && !Object.prototype.hasOwnProperty.call(row, names[ci]!)) continue; // "constructor" etc.
      key[n++] = ci;
      values.push(checkValue(schema, columns[ci]!, v));
    }
    let given = 0;
    for (const k in row) if (row[k] !== undefined) given++;
    if (given !== n) {
      for (const k of Object.keys(row)) {
        if (row[k] !== undefined && !schema.columnIndex.has(k)) {
          throw new ValidationError("UNKNOWN_COLUMN", `"${schema.name}" has no column "${k}"`, { table: schema.name, column: k });
        }
      }
      throw new ValidationError("INVALID_ROW", `a row for "${schema.name}" has inherited or duplicate properties`, { table: schema.name });
    }
    const cols = merger.columnSet(key, n);
    for (const pk of schema.pkIndexes) {
      if (!cols.includes(pk)) {
        const column = columns[pk]!.name;
        throw new ValidationError("MISSING_PRIMARY_KEY", `a row for "${schema.name}" needs primary-key column "${column}"`, {
          table: schema.name,
          column,
        });
      }
    }
    this.rowCols = cols;
    return values;
  }

  private writeLocal(merger: TableMerger, cols: number[], values: SqlValue[]): string {
    const seq = this.seq + 1;
    const p = this.localPatch(merger, seq, cols, values);
    const patchedAt = p.patchedAt;
    // The patch row is queued and written many per statement at commit (nothing reads
    // T_patches inside a local transaction but the merge probe, which flushes first); the row
    // in T is written now, so reads inside the transaction see it.
    merger.queuePatch(p);
    this.txTables.add(merger);
    try {
      // Our clock is above every timestamp merged so far unless a far-ahead remote clock was refused.
      merger.mergeRow(p, patchedAt > this.highestTs);
    } catch (err) {
      // SQLite undid the failed statement; undo the patch too, so a caller that catches this
      // inside transaction() and goes on has written nothing and reuses no sequence number.
      merger.unstore(p);
      throw wrapSqliteError(err, merger.schema.name);
    }
    this.seq = seq;
    if (patchedAt > this.highestTs) this.highestTs = patchedAt;
    this.txCount++;
    this.txOut?.add(merger, this.peerId, seq, patchedAt, cols, values);
    return `${this.peerId}.${seq}`;
  }

  private persistState(): void {
    this.stmts.saveState.run([this.seq, this.clock.current, this.highestTs, this.gcHorizon]);
  }

  // -------------------------------------------------------------------------------------------
  // Links and messages

  /** Links a neighbour: `send` delivers bytes to it (the transport is yours). */
  addPeer(peerId: number, send: (message: Uint8Array) => void): void {
    this.assertOpen();
    if (!isUint32(peerId)) throw new ReplicError("INVALID_OPTION", `peerId must be a uint32, got ${String(peerId)}`);
    if (typeof send !== "function") throw new ReplicError("INVALID_OPTION", "addPeer needs a send function");
    if (peerId === this.peerId) throw new ReplicError("INVALID_OPTION", "a replica cannot link to itself");
    const existing = this.links.get(peerId);
    if (existing) {
      existing.send = send;
      return;
    }
    this.links.set(peerId, { peerId, send, heads: new Map(), lastContact: null, clockDriftMs: null, inflight: 0 });
    this.metricsRegistry.set("peers", this.links.size);
  }

  removePeer(peerId: number): void {
    this.links.delete(peerId);
    this.gaps.forgetLink(peerId);
    this.metricsRegistry.set("peers", this.links.size);
  }

  /**
   * Handles bytes from a neighbour. A message that fails to decode or to validate against the
   * local schema throws a typed error and writes nothing.
   */
  receive(fromPeerId: number, message: Uint8Array): void {
    this.assertOpen();
    if (this.inTransaction) throw new ReplicError("TRANSACTION", "receive() cannot run inside transaction()");
    this.metricsRegistry.inc("bytes_in_total", message?.length ?? 0);
    let msg: WireMessage;
    try {
      msg = decodeWire(message, this.limits);
    } catch (err) {
      this.metricsRegistry.inc("decode_errors_total");
      throw err;
    }
    this.metricsRegistry.inc("messages_in_total", 1, { kind: msg.kind });
    const link = this.links.get(fromPeerId);
    if (link) link.lastContact = this.now();
    switch (msg.kind) {
      case "patches":
        this.applyPatches(msg, link);
        break;
      case "heartbeat":
        this.onHeartbeat(msg, link);
        break;
      case "request":
        this.onRequest(msg, link);
        break;
    }
    this.flush();
  }

  private applyPatches(msg: PatchesMessage, from: Link | undefined): void {
    const patches = this.validatePatches(msg);
    let result: MergeResult;
    try {
      result = this.mergeMessage(patches, from, true);
    } catch (err) {
      // A patch repeated inside one message defeats batching: redo it one patch at a time.
      if (!(err instanceof DuplicateInBatchError)) throw err;
      result = this.mergeMessage(patches, from, false);
    }
    const { applied, duplicates, tooOld, tooOldOrigins } = result;
    this.metricsRegistry.inc("patches_applied_total", applied.length);
    this.metricsRegistry.inc("patches_duplicate_total", duplicates);
    if (tooOld > 0) {
      this.metricsRegistry.inc("patches_too_old_total", tooOld);
      for (const o of tooOldOrigins) this.markStale(o, `patches of peer ${o} are older than the retention horizon`);
    }
    if (applied.length === 0) return;
    const advanced = new Set(applied.map((p) => p.peerId));
    for (const id of advanced) this.resolveWaiters(this.origins.get(id));
    this.gaps.settle(this.now());
    this.emit("merge", { local: false, patches: applied.length } satisfies MergeEvent);
    this.broadcast(applied, from);
    // Streaming catch-up: ask for the next window as soon as this one landed.
    if (this.gaps.idle || applied.length >= this.opts.maxBatchPatches) this.repair();
  }

  /**
   * Stores and merges one message's patches in one transaction. Batched: many rows per statement
   * (patches known to be the newest of their row); otherwise one statement per patch.
   */
  private mergeMessage(patches: LocalPatch[], from: Link | undefined, batched: boolean): MergeResult {
    const applied: LocalPatch[] = [];
    const highestBefore = this.highestTs;
    const touchedTables = new Set<TableMerger>();
    let duplicates = 0;
    let tooOld = 0;
    const tooOldOrigins = new Set<number>();
    this.stmts.begin.run([]);
    try {
      for (const p of patches) {
        const origin = this.origins.find(p.peerId);
        if (origin && origin.has(p.seq)) {
          duplicates++;
          continue;
        }
        if (p.patchedAt < this.gcHorizon) {
          // Later patches of this row may have been collected: merging could go silently wrong.
          tooOld++;
          tooOldOrigins.add(p.peerId);
          continue;
        }
        const newest = p.patchedAt > this.highestTs;
        if (batched) {
          // A repeat inside this message surfaces as DuplicateInBatchError at flush.
          p.table.queuePatch(p);
          p.table.queueMerge(p, newest);
          touchedTables.add(p.table);
        } else {
          if (!p.table.storePatch(p, true)) {
            duplicates++;
            continue;
          }
          p.table.mergeRow(p, newest);
        }
        if (newest) this.highestTs = p.patchedAt;
        applied.push(p);
      }
      for (const t of touchedTables) t.flush();
      if (applied.length > 0) {
        const touched = new Map<number, OriginState>();
        for (const p of applied) {
          const o = this.origins.get(p.peerId);
          o.add(p.seq);
          touched.set(p.peerId, o);
        }
        for (const o of touched.values()) this.stmts.savePeer.run([o.peerId, o.contiguous, o.highest, o.retainedFrom]);
        let newest = 0;
        for (const p of applied) if (p.patchedAt > newest) newest = p.patchedAt;
        this.observeClock(newest, from);
        const own = this.origins.get(this.peerId);
        if (own.highest > this.seq) this.seq = own.highest; // a restored copy of us: never reuse those numbers
        this.persistState();
      }
      this.stmts.commit.run([]);
    } catch (err) {
      for (const t of touchedTables) t.discard();
      try {
        this.stmts.rollback.run([]);
      } catch {
        // already rolled back by SQLite
      }
      this.highestTs = highestBefore;
      this.loadOrigins();
      this.seq = Math.max(this.seq, this.origins.get(this.peerId).contiguous);
      if (err instanceof DuplicateInBatchError) throw err;
      throw wrapSqliteError(err, undefined);
    }
    return { applied, duplicates, tooOld, tooOldOrigins };
  }

  /** Maps a decoded message onto the local schema; any mismatch rejects the whole message. */
  private validatePatches(msg: PatchesMessage): LocalPatch[] {
    const maps = msg.tables.map((t: WireTable) => {
      const merger = this.tables.get(t.name);
      if (!merger) {
        throw new ValidationError("UNKNOWN_TABLE", `message names table "${t.name}", which this replica does not replicate`, {
          table: t.name,
        });
      }
      const index = t.columns.map((c) => {
        const ci = merger.schema.columnIndex.get(c);
        if (ci === undefined) {
          throw new ValidationError("UNKNOWN_COLUMN", `message names column "${t.name}"."${c}", unknown here`, {
            table: t.name,
            column: c,
          });
        }
        return ci;
      });
      return { merger, index };
    });
    let lastColumns: number[] | undefined;
    let lastTable = -1;
    let mapped: { cols: number[]; order: number[] | undefined } | undefined;
    const out: LocalPatch[] = new Array(msg.patches.length);
    for (let k = 0; k < msg.patches.length; k++) {
      const wp: WirePatch = msg.patches[k]!;
      const { merger, index } = maps[wp.table]!;
      const schema = merger.schema;
      if (wp.columns !== lastColumns || wp.table !== lastTable) {
        mapped = mapColumns(schema, wp, index);
        lastColumns = wp.columns;
        lastTable = wp.table;
      }
      const { cols, order } = mapped!;
      // Checked in place unless the sender's column order differs from ours.
      const values: SqlValue[] = order ? new Array(cols.length) : wp.values;
      for (let i = 0; i < cols.length; i++) {
        const v = wp.values[order ? order[i]! : i]!;
        values[i] = checkValue(schema, schema.columns[cols[i]!]!, v);
      }
      out[k] = { table: merger, peerId: wp.peerId, seq: wp.seq, patchedAt: wp.patchedAt, cols, values };
    }
    return out;
  }

  private observeClock(remote: number, from: Link | undefined): void {
    const o = this.clock.observe(remote);
    if (o.beyondBound) {
      this.metricsRegistry.inc("clock_drift_rejections_total");
      this.logger?.debug?.(`replic: remote clock ${o.aheadMs} ms ahead (peer ${from?.peerId ?? "?"}); not followed`);
    }
  }

  private onHeartbeat(msg: HeartbeatMessage, link: Link | undefined): void {
    if (!link) return; // heads from an unlinked sender cannot be used to ask it for anything
    link.clockDriftMs = msFromTimestamp(msg.clock) - this.now();
    this.metricsRegistry.set("clock_drift_ms", link.clockDriftMs, { peer: link.peerId });
    this.observeClock(msg.clock, link);
    link.heads.clear();
    for (const h of msg.heads) link.heads.set(h.peerId, h);
    this.repair();
  }

  private onRequest(msg: RequestMessage, link: Link | undefined): void {
    if (!link) return;
    let budget = this.opts.maxInflightPatches;
    for (const r of msg.ranges) {
      if (budget <= 0) break;
      const to = Math.min(r.to, r.from + budget - 1);
      const patches = this.readRange(r.peerId, r.from, to);
      budget -= patches.length;
      this.metricsRegistry.inc("gaps_served_total");
      this.metricsRegistry.inc("patches_served_total", patches.length);
      this.sendPatches(link, patches);
    }
  }

  /** Patches of one origin in [from, to] held here, in sequence order, across tables. */
  private readRange(peerId: number, from: number, to: number): LocalPatch[] {
    const out: LocalPatch[] = [];
    for (const t of this.tables.values()) t.readRange(peerId, from, to, out);
    out.sort((a, b) => a.seq - b.seq);
    return out;
  }

  /** Forwards patches to every link (but the one they came from) that may lack them. */
  private broadcast(patches: LocalPatch[], from: Link | undefined): void {
    for (const link of this.links.values()) {
      if (link === from) continue;
      const wanted = patches.filter((p) => {
        const h = link.heads.get(p.peerId);
        return !h || h.contiguous < p.seq;
      });
      if (wanted.length > 0) this.sendPatches(link, wanted);
    }
  }

  private sendPatches(link: Link, patches: LocalPatch[]): void {
    const batcher = new PatchBatcher(this.opts.maxBatchPatches);
    for (const p of patches) batcher.add(p.table, p.peerId, p.seq, p.patchedAt, p.cols, p.values);
    for (const m of batcher.finish()) this.queue(link, m, "patches");
  }

  private queue(link: Link, bytes: Uint8Array, kind: WireMessage["kind"]): void {
    this.outbox.push([link, bytes]);
    this.metricsRegistry.inc("messages_out_total", 1, { kind });
    this.metricsRegistry.inc("bytes_out_total", bytes.length);
  }

  /** Sends queued messages. Iterative, so synchronous loopback transports cannot recurse deeply. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0) {
        const batch = this.outbox;
        this.outbox = [];
        for (const [link, bytes] of batch) {
          if (!this.links.has(link.peerId)) continue;
          try {
            link.send(bytes);
          } catch (err) {
            // A failing transport loses messages; anti-entropy repairs them later.
            this.metricsRegistry.inc("send_errors_total");
            this.logger?.warn(`replic: sending to peer ${link.peerId} failed`, err);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Anti-entropy

  /** One heartbeat / anti-entropy round, now: advertise heads, re-ask for gaps, collect garbage. */
  tick(): void {
    this.assertOpen();
    this.ticks++;
    const clock = Math.max(this.clock.current, timestampFromMs(this.now()));
    const heartbeat = encodeWire({ kind: "heartbeat", clock, heads: this.origins.heads() });
    for (const link of this.links.values()) this.queue(link, heartbeat, "heartbeat");
    this.repair();
    if (this.opts.retentionMs > 0 && this.ticks % 60 === 1) this.gc();
    this.updateLagMetrics();
    this.flush();
  }

  /** Asks neighbours for whatever this replica lacks (see GapRepair). */
  private repair(): void {
    this.gaps.run(this.now());
  }

  private markStale(origin: number, reason: string): void {
    if (this.stale.has(origin)) return;
    this.stale.add(origin);
    this.metricsRegistry.set("stale_origins", this.stale.size);
    const err = new StaleReplicaError(origin, `replica ${this.peerId} needs a re-seed: ${reason}`);
    this.logger?.warn(`replic: ${err.message}`);
    for (const w of this.waiters.get(origin) ?? []) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters.delete(origin);
    this.emit("stale", err);
  }

  /**
   * Deletes patches older than the retention window, per origin up to its contiguous head
   * (so gaps can still be detected), and raises the horizon below which late patches are refused.
   */
  gc(): number {
    this.assertOpen();
    if (this.opts.retentionMs <= 0) return 0;
    const cutoff = timestampFromMs(this.now() - this.opts.retentionMs);
    let removed = 0;
    this.stmts.begin.run([]);
    try {
      for (const o of this.origins.origins.values()) {
        let last = 0;
        for (const t of this.tables.values()) last = Math.max(last, t.lastSeqBefore(o.peerId, cutoff));
        last = Math.min(last, o.contiguous);
        if (last < o.retainedFrom) continue;
        for (const t of this.tables.values()) removed += t.deleteThrough(o.peerId, last);
        this.nulls.deleteThrough(o.peerId, last);
        o.retainedFrom = last + 1;
        this.stmts.savePeer.run([o.peerId, o.contiguous, o.highest, o.retainedFrom]);
      }
      if (cutoff > this.gcHorizon && removed > 0) this.gcHorizon = cutoff;
      this.persistState();
      this.stmts.commit.run([]);
    } catch (err) {
      this.stmts.rollback.run([]);
      this.loadOrigins();
      throw err;
    }
    this.metricsRegistry.inc("patches_collected_total", removed);
    return removed;
  }

  // -------------------------------------------------------------------------------------------
  // Read-your-own-writes

  /** Resolves once this replica has merged the token's write and all earlier ones of its peer. */
  waitFor(token: string, timeoutMs?: number): Promise<void> {
    const parsed = parseToken(token);
    if (!parsed) return Promise.reject(new ReplicError("INVALID_TOKEN", `not a session token: ${String(token)}`));
    if (this.closed) return Promise.reject(new ReplicError("CLOSED", "replica is closed"));
    const [origin, seq] = parsed;
    if (this.origins.get(origin).contiguous >= seq) return Promise.resolve();
    if (this.stale.has(origin)) return Promise.reject(new StaleReplicaError(origin, `replica ${this.peerId} needs a re-seed`));
    const ms = timeoutMs ?? this.opts.waitTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { seq, resolve, reject, timer: undefined };
      let list = this.waiters.get(origin);
      if (!list) this.waiters.set(origin, (list = []));
      list.push(w);
      if (Number.isFinite(ms)) {
        w.timer = setTimeout(() => {
          const l = this.waiters.get(origin);
          if (l) l.splice(l.indexOf(w), 1);
          reject(new TimeoutError(`write ${token} not merged by replica ${this.peerId} within ${ms} ms`));
        }, ms);
      }
    });
  }

  private resolveWaiters(o: OriginState): void {
    const list = this.waiters.get(o.peerId);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (w.seq <= o.contiguous) {
        if (w.timer) clearTimeout(w.timer);
        w.resolve();
      } else keep.push(w);
    }
    if (keep.length) this.waiters.set(o.peerId, keep);
    else this.waiters.delete(o.peerId);
  }

  // -------------------------------------------------------------------------------------------
  // Observability

  status(): ReplicaStatus {
    const origins: OriginStatus[] = [];
    for (const o of this.origins.origins.values()) {
      let upTo = o.highest;
      for (const l of this.links.values()) upTo = Math.max(upTo, l.heads.get(o.peerId)?.highest ?? 0);
      origins.push({
        peerId: o.peerId,
        contiguous: o.contiguous,
        highest: o.highest,
        retainedFrom: o.retainedFrom,
        missing: upTo - o.contiguous - [...o.above].filter((s) => s <= upTo).length,
        stale: this.stale.has(o.peerId),
      });
    }
    return {
      peerId: this.peerId,
      binding: this.driver.name,
      tables: [...this.tables.keys()],
      sequence: this.seq,
      clock: this.clock.current,
      origins,
      peers: [...this.links.values()].map((l) => ({
        peerId: l.peerId,
        lastContact: l.lastContact,
        ...this.linkLag(l),
        clockDriftMs: l.clockDriftMs,
        heads: [...l.heads.values()].map((h) => ({ ...h })),
      })),
      staleOrigins: [...this.stale],
      closed: this.closed,
    };
  }

  private linkLag(l: Link): { lag: number; behind: number } {
    let lag = 0;
    let behind = 0;
    for (const o of this.origins.origins.values()) {
      const theirs = l.heads.get(o.peerId)?.contiguous ?? 0;
      if (o.contiguous > theirs) lag += o.contiguous - theirs;
    }
    for (const h of l.heads.values()) {
      const ours = this.origins.find(h.peerId)?.contiguous ?? 0;
      if (h.contiguous > ours) behind += h.contiguous - ours;
    }
    return { lag, behind };
  }

  private updateLagMetrics(): void {
    this.metricsRegistry.clear("peer_lag_patches");
    for (const l of this.links.values()) {
      this.metricsRegistry.set("peer_lag_patches", this.linkLag(l).behind, { peer: l.peerId });
    }
  }

  metrics(): string {
    this.updateLagMetrics();
    this.metricsRegistry.set("sequence", this.seq);
    return this.metricsRegistry.text();
  }

  private declareMetrics(): void {
    const m = this.metricsRegistry;
    m.declare("messages_in_total", "counter", "Messages received, by kind.");
    m.declare("messages_out_total", "counter", "Messages sent, by kind.");
    m.declare("bytes_in_total", "counter", "Bytes received.");
    m.declare("bytes_out_total", "counter", "Bytes sent.");
    m.declare("patches_local_total", "counter", "Patches written locally.");
    m.declare("patches_applied_total", "counter", "Remote patches merged.");
    m.declare("patches_duplicate_total", "counter", "Remote patches ignored as already held.");
    m.declare("patches_too_old_total", "counter", "Remote patches refused as older than the retention horizon.");
    m.declare("patches_collected_total", "counter", "Patches garbage-collected after the retention window.");
    m.declare("gaps_requested_total", "counter", "Gap ranges requested from neighbours.");
    m.declare("gap_patches_requested_total", "counter", "Patches requested to fill gaps.");
    m.declare("gaps_served_total", "counter", "Gap ranges served to neighbours.");
    m.declare("patches_served_total", "counter", "Patches sent in answer to gap requests.");
    m.declare("decode_errors_total", "counter", "Messages rejected by the decoder.");
    m.declare("send_errors_total", "counter", "Sends that threw in the transport.");
    m.declare("clock_drift_rejections_total", "counter", "Remote timestamps too far ahead to follow.");
    m.declare("clock_drift_ms", "gauge", "Neighbour clock minus local clock, ms, per peer.");
    m.declare("peer_lag_patches", "gauge", "Patches a neighbour holds that this replica lacks, per peer.");
    m.declare("stale_origins", "gauge", "Origins this replica cannot catch up with (needs re-seed).");
    m.declare("peers", "gauge", "Linked neighbours.");
    m.declare("sequence", "gauge", "Last local sequence number.");
  }

  on(event: "stale", listener: (err: StaleReplicaError) => void): () => void;
  on(event: "merge", listener: (e: MergeEvent) => void): () => void;
  on(event: ReplicaEvent, listener: (e: never) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as (e: unknown) => void;
    set.add(l);
    return () => set!.delete(l);
  }

  private emit(event: ReplicaEvent, payload: unknown): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        l(payload);
      } catch (err) {
        this.logger?.warn(`replic: ${event} listener threw`, err);
      }
    }
  }

  /** Stops timers, rejects pending waits and releases statements. The database stays open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const err = new ReplicError("CLOSED", "replica closed");
    for (const list of this.waiters.values()) {
      for (const w of list) {
        if (w.timer) clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.waiters.clear();
    this.links.clear();
    this.driver.release?.();
  }

  private assertOpen(): void {
    if (this.closed) throw new ReplicError("CLOSED", "replica is closed");
  }
}

/** Wire column indexes → sorted local indexes (plus the permutation when the order differs). */
function mapColumns(schema: TableSchema, wp: WirePatch, index: number[]): { cols: number[]; order: number[] | undefined } {
  let cols = wp.columns.map((c) => index[c]!);
  let order: number[] | undefined;
  for (let i = 1; i < cols.length; i++) {
    if (cols[i]! < cols[i - 1]!) {
      order = cols.map((_, k) => k).sort((a, b) => cols[a]! - cols[b]!);
      cols = order.map((k) => cols[k]!);
      break;
    }
  }
  for (const pk of schema.pkIndexes) {
    if (!cols.includes(pk)) {
      const column = schema.columns[pk]!.name;
      throw new ValidationError("MISSING_PRIMARY_KEY", `patch ${wp.peerId}.${wp.seq} lacks primary-key column "${column}"`, {
        table: schema.name,
        column,
      });
    }
  }
  return { cols, order };
}

/** Encodes patches into messages of at most `maxPatches` patches and about 4 MiB each. */
class PatchBatcher {
  private encoder: PatchesEncoder | undefined;
  private readonly tableIndex = new Map<TableMerger, number>();
  private readonly messages: Uint8Array[] = [];

  constructor(private readonly maxPatches: number) {}

  add(table: TableMerger, peerId: number, seq: number, patchedAt: number, cols: number[], values: readonly SqlValue[]): void {
    let e = this.encoder;
    if (!e) {
      e = this.encoder = new PatchesEncoder();
      this.tableIndex.clear();
    }
    let ti = this.tableIndex.get(table);
    if (ti === undefined) {
      ti = e.addTable(table.schema.name, table.columnNames);
      this.tableIndex.set(table, ti);
    }
    e.add(ti, peerId, seq, patchedAt, cols, values);
    if (e.count >= this.maxPatches || e.size >= MAX_MESSAGE_PAYLOAD) this.cut();
  }

  private cut(): void {
    if (this.encoder && this.encoder.count > 0) this.messages.push(this.encoder.finish());
    this.encoder = undefined;
  }

  finish(): Uint8Array[] {
    this.cut();
    return this.messages;
  }
}

function wrapSqliteError(err: unknown, table: string | undefined): Error {
  if (err instanceof ReplicError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (/constraint/i.test(message)) {
    return new ValidationError("CONSTRAINT", `SQLite refused the write${table ? ` to "${table}"` : ""}: ${message}`, table ? { table } : {}, {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(message);
}

/**
 * Turns a file copy of another peer's database into a new peer (the re-seed path for a stale
 * replica): gives it a fresh peer id and starts its own sequence at 0, keeping every row, patch
 * and head it copied. Run it before `openReplica` on the copy.
 */
export function assignNewPeerId(driver: SqliteDriver, peerId?: number): number {
  const state = driver.prepare(`SELECT peerId FROM ${STATE_TABLE} WHERE id = 1`).get([]);
  if (!state) throw new ReplicError("INVALID_OPTION", "not a replic database (no replica was ever opened on it)");
  const known = new Set(driver.prepare(`SELECT peerId FROM ${PEERS_TABLE}`).all([]).map((r) => Number(r[0])));
  known.add(Number(state[0]));
  if (peerId !== undefined && (!isUint32(peerId) || known.has(peerId))) {
    throw new ReplicError("INVALID_OPTION", `peer id ${String(peerId)} is not a fresh uint32 for this database`);
  }
  let id = peerId ?? randomPeerId();
  while (known.has(id)) id = randomPeerId();
  driver.prepare(`UPDATE ${STATE_TABLE} SET peerId = ?, seq = 0 WHERE id = 1`).run([id]);
  return id;
}

export function parseToken(token: string): [number, number] | undefined {
  if (typeof token !== "string") return undefined;
  const m = /^(\d{1,10})\.(\d{1,16})$/.exec(token);
  if (!m) return undefined;
  const peer = Number(m[1]);
  const seq = Number(m[2]);
  if (!isUint32(peer) || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  return [peer, seq];
}

function isUint32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function randomPeerId(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues) {
    const a = new Uint32Array(1);
    c.getRandomValues(a);
    if (a[0]! !== 0) return a[0]!;
  }
  return 1 + Math.floor(Math.random() * 0xfffffffe);
}
