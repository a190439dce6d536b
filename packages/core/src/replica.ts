/**
 * A replica: one SQLite database taking part in replication. This class is the facade of the
 * rooms (docs/design.md): it opens them in order, and each public method delegates to the room
 * that owns the job. Transports live outside: a link is `send(bytes)` one way and
 * `receive(bytes)` the other.
 */
import { adoptRows, type AdoptOptions } from "./adoption.js";
import { AlienStore } from "./alien-store.js";
import { DroppedValues } from "./dropped-values.js";
import { Bookkeeping } from "./bookkeeping.js";
import { CapturedTables } from "./captured-tables.js";
import { Catalog } from "./catalog.js";
import { HybridLogicalClock, timestampFromMs } from "./clock.js";
import type { SqliteDriver } from "./driver.js";
import { ReplicError, type IdentityConflictError, type StaleReplicaError } from "./errors.js";
import { Events, type DivergenceEvent, type IncompleteGroupEvent, type MergeEvent, type ParkedEvent, type ReplicaEvent, type ReplicaEvents } from "./events.js";
import { GapRepair } from "./gap-repair.js";
import { HeadsLog } from "./heads-log.js";
import { HeartbeatIntake } from "./heartbeat-intake.js";
import { Heartbeats } from "./heartbeats.js";
import { HeldPatches } from "./held-patches.js";
import { isUint32 } from "./ids.js";
import { IdentityGuard } from "./identity.js";
import { GroupBounds } from "./group-bounds.js";
import { Inbound } from "./inbound.js";
import { IncompleteGroups } from "./incomplete-groups.js";
import { LocalWriter } from "./local-writes.js";
import { declareAll } from "./metric-names.js";
import { Metrics } from "./metrics.js";
import { applyMigrations, checkMigrations, type Migration } from "./migrations.js";
import { Neighbours, versionFor, type Link } from "./neighbours.js";
import { resolveOptions, type ReplicaOptions, type ResolvedOptions } from "./options.js";
import { Origins } from "./origins.js";
import { Outbox } from "./outbox.js";
import type { ParkedRow } from "./parked-rows.js";
import { noEffects, type Effects } from "./effects.js";
import { Publisher } from "./publisher.js";
import { Reaper } from "./reaper.js";
import { resolveScope, type ResolvedScope, type Scope } from "./scope.js";
import { Rebuilder, type RebuildOptions, type RebuildReport } from "./rebuild.js";
import { Scrubber } from "./scrub.js";
import type { LocalPatch } from "./replicated-table.js";
import { readSchemaVersion, schemaVersionOf } from "./schema-version.js";
import { Staleness } from "./staleness.js";
import { buildStatus, type ReplicaStatus } from "./status.js";
import { formatToken, parseToken } from "./token.js";
import { TxBracket } from "./transaction.js";
import type { AnyTables, TableName, UpsertRow } from "./typed-rows.js";
import { Waiters } from "./waiters.js";
import { encodeWire } from "./wire/encoder.js";
import type { SchemaVersion } from "./wire/types.js";

/** Collection runs every this many rounds. */
const GC_EVERY_TICKS = 60;

/**
 * `DB` types the rows (docs/typed-rows.md): a Kysely-style interface or a Drizzle schema type;
 * `Keys` names primary-key columns the type cannot show. Both are types only.
 */
export class Replica<DB = AnyTables, Keys = {}> {
  readonly peerId: number;
  private readonly opts: ResolvedOptions;
  private readonly tx: TxBracket;
  private readonly book: Bookkeeping;
  private readonly catalog: Catalog;
  private readonly clock: HybridLogicalClock;
  private readonly metricsRegistry = new Metrics();
  private readonly events: Events;
  private readonly waiters = new Waiters();
  private readonly origins = new Origins();
  private readonly neighbours = new Neighbours();
  private readonly staleness: Staleness;
  private readonly identity: IdentityGuard;
  private readonly held: HeldPatches;
  private readonly alien: AlienStore;
  private readonly dropped: DroppedValues;
  private readonly bounds: GroupBounds;
  private readonly incomplete: IncompleteGroups;
  /** Applied migrations and their hash, advertised in heartbeats. */
  private schema: SchemaVersion;
  private readonly outbox: Outbox;
  private readonly heartbeats: Heartbeats;
  /** Heartbeats and heads requests received (heartbeat-intake.ts). */
  private readonly heartbeatsIn: HeartbeatIntake;
  private readonly gaps: GapRepair;
  private readonly inbound: Inbound;
  private readonly local: LocalWriter;
  private readonly publisher: Publisher;
  private readonly reaper: Reaper;
  /** rebuild() and the scrub of each round (docs/trust.md). */
  private readonly rebuilder: Rebuilder;
  private readonly scrubber: Scrubber;
  /** Captured tables (captured-tables.ts): present when capture is on or a queue is left to drain. */
  private readonly capture: CapturedTables | undefined;
  /** The rows this replica holds (scope.ts); undefined: every row. */
  private readonly heldScope: ResolvedScope | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private countsAtClose: Pick<ReplicaStatus, "alienPatches" | "parkedRows"> | null = null;
  private ticks = 0;

  constructor(private readonly driver: SqliteDriver, options: ReplicaOptions = {}) {
    const opts = (this.opts = resolveOptions(options));
    declareAll(this.metricsRegistry);
    this.events = new Events(opts.logger);
    this.tx = new TxBracket(driver);
    // Opening is one transaction: bookkeeping tables, schema check, high-water marks, writer claim.
    let book!: Bookkeeping;
    let catalog!: Catalog;
    let held!: HeldPatches;
    let alien!: AlienStore;
    let dropped!: DroppedValues;
    let bounds!: GroupBounds;
    let incomplete!: IncompleteGroups;
    let scope: ResolvedScope | undefined;
    let startClock = 0;
    this.tx.run(
      () => {
        book = new Bookkeeping(driver, options.peerId);
        catalog = new Catalog(driver, () => book.gcHorizon);
        // A scope that does not fit the schema refuses the open (nothing of it is kept).
        scope = resolveScope(catalog, options.scope, "scope");
        held = new HeldPatches(driver);
        alien = new AlienStore(driver);
        dropped = new DroppedValues(driver);
        bounds = new GroupBounds(driver);
        incomplete = new IncompleteGroups(driver);
        // The newest sequence and clock are in the patch tables unless one of them vanished outside
        // migrate() since they were last recorded: then they cannot be known, and numbers must
        // never be reused.
        const vanished = book.recordedTables.filter((t) => !catalog.tables.has(t));
        if (vanished.length > 0) {
          throw new ReplicError(
            "SEQUENCE_UNKNOWN",
            `patch table(s) ${vanished.map((t) => `"${t}_patches"`).join(", ")} were dropped outside migrate(), so peer ${book.peerId}'s last sequence number is unknown; run assignNewPeerId() on this database to continue as a new peer`,
          );
        }
        const [ownSeq, ownTs] = catalog.lastOf(book.peerId);
        if (ownSeq > book.seq) book.seq = ownSeq;
        if (ownTs > book.highestTs) book.restoreHighest([ownTs, Infinity, Infinity]);
        book.claimWriter();
        startClock = Math.max(book.storedClock, ownTs);
        book.persist(startClock, catalog.tables.keys());
        book.fence();
      },
      () => {},
    );
    this.book = book;
    this.catalog = catalog;
    this.held = held;
    this.alien = alien;
    this.dropped = dropped;
    this.bounds = bounds;
    this.incomplete = incomplete;
    this.heldScope = scope;
    this.schema = readSchemaVersion(driver);
    this.peerId = book.peerId;
    // The clock never goes backwards across restarts.
    this.clock = new HybridLogicalClock(opts.now, opts.maxClockDriftMs, startClock);
    this.staleness = new Staleness(this.peerId, this.metricsRegistry, this.events, this.waiters, opts.logger);
    this.identity = new IdentityGuard(this.peerId, this.metricsRegistry, this.events, opts.logger);
    this.outbox = new Outbox(this.neighbours, catalog, alien, bounds, this.metricsRegistry, opts, opts.logger);
    this.gaps = new GapRepair(this.peerId, this.neighbours, this.origins, opts, this.metricsRegistry, this.staleness, (link, ranges) =>
      this.outbox.send(link, encodeWire({ kind: "request", ranges }, versionFor(link)), "request"),
    );
    const publisher = new Publisher({
      origins: this.origins,
      neighbours: this.neighbours,
      outbox: this.outbox,
      waiters: this.waiters,
      events: this.events,
      metrics: this.metricsRegistry,
      identity: this.identity,
      gaps: this.gaps,
      ownPeerId: this.peerId,
      maxBatchPatches: opts.maxBatchPatches,
      now: opts.now,
    });
    this.publisher = publisher;
    this.heartbeats = new Heartbeats({
      origins: this.origins,
      log: new HeadsLog(),
      outbox: this.outbox,
      metrics: this.metricsRegistry,
      fullEvery: opts.fullHeartbeatEvery,
      idleEvery: opts.idleHeartbeatEvery,
      stamp: () => ({ clock: Math.max(this.clock.current, timestampFromMs(this.opts.now())), schema: this.schema }),
    });
    this.heartbeatsIn = new HeartbeatIntake({
      book,
      clock: this.clock,
      neighbours: this.neighbours,
      gaps: this.gaps,
      outbox: this.outbox,
      metrics: this.metricsRegistry,
      identity: this.identity,
      heartbeats: this.heartbeats,
      opts,
    });
    this.inbound = new Inbound({
      book,
      catalog,
      clock: this.clock,
      tx: this.tx,
      origins: this.origins,
      neighbours: this.neighbours,
      outbox: this.outbox,
      metrics: this.metricsRegistry,
      staleness: this.staleness,
      held,
      alien,
      incomplete,
      bounds,
      publisher,
      heartbeatsIn: this.heartbeatsIn,
      wantsKeys: () => this.events.has("merge"),
      opts,
    });
    this.capture = CapturedTables.open(driver, opts.capture, catalog, opts.logger);
    this.local = new LocalWriter({
      book,
      catalog,
      clock: this.clock,
      tx: this.tx,
      neighbours: this.neighbours,
      events: this.events,
      bounds,
      publisher,
      opts,
      capture: this.capture?.drain,
      scope,
    });
    this.capture?.attach(() => this.local.flushCaptured());
    this.reaper = new Reaper({ book, catalog, clock: this.clock, tx: this.tx, origins: this.origins, metrics: this.metricsRegistry, alien, bounds }, opts);
    this.rebuilder = new Rebuilder({ driver, catalog, tx: this.tx, book, publisher });
    this.scrubber = new Scrubber({
      catalog,
      rebuilder: this.rebuilder,
      events: this.events,
      metrics: this.metricsRegistry,
      logger: opts.logger,
      rowsPerRound: opts.scrubRowsPerRound,
      repair: opts.repair,
    });
    this.loadOrigins();
    // Changes committed by plain SQL before a crash or a close drain now, exactly once.
    this.local.flushCaptured();

    if (opts.heartbeatMs > 0) {
      this.timer = setInterval(() => {
        try {
          this.tick();
        } catch (err) {
          opts.logger?.warn("replic: heartbeat failed", err);
        }
      }, opts.heartbeatMs);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Drains captured writes before replic merges, sends or changes the schema; a transaction the application holds open defers it. */
  private drainCaptured(deferrable: boolean): void {
    this.capture?.flush(deferrable);
  }

  /** `fn` with capture off: replic's own writes to the tables are never captured again. */
  private quiet<T>(fn: () => T): T {
    return this.capture ? this.capture.quiet(fn) : fn();
  }

  /**
   * Captured tables: stamps what plain INSERT / UPDATE committed and sends it, now (the heartbeat
   * does it too). Returns the session token of this replica's newest write (null before any), for
   * waitFor.
   */
  flush(): string | null {
    this.assertOpen();
    if (this.tx.active) throw new ReplicError("TRANSACTION", "flush() cannot run inside transaction()");
    this.local.flushCaptured();
    this.outbox.flush();
    return this.book.seq > 0 ? formatToken(this.peerId, this.book.seq) : null;
  }

  /** Rebuilds per-origin heads from `_replic_peers`, the patches above `contiguous`, and the hold. */
  private loadOrigins(): void {
    this.origins.all.clear();
    for (const h of this.book.loadPeers()) {
      const o = this.origins.get(h.peerId);
      o.contiguous = h.contiguous;
      o.highest = h.highest;
      o.retainedFrom = h.retainedFrom;
      for (const t of this.catalog.tables.values()) {
        for (const s of t.log.sequencesAbove(o.peerId, o.contiguous)) if (s > o.contiguous) o.add(s);
      }
      // Alien patches of tables unknown here count as held too.
      for (const s of this.alien.sequencesAbove(o.peerId, o.contiguous)) if (s > o.contiguous) o.add(s);
    }
    const own = this.origins.get(this.peerId);
    own.contiguous = Math.max(own.contiguous, this.book.seq);
    own.highest = Math.max(own.highest, this.book.seq);
    this.held.load(this.origins);
    this.incomplete.load(this.origins);
  }

  /**
   * Brings the schema to exactly `migrations`: applies the ones not applied yet, or — given a
   * shorter list — rolls back the extra ones with their stored `down` scripts, newest first.
   */
  migrate(migrations: Migration[]): void {
    this.assertOpen();
    checkMigrations(migrations);
    if (this.tx.active) throw new ReplicError("TRANSACTION", "migrate() cannot run inside transaction()");
    // Each committed step's effects, published together once the steps are done or one failed.
    const steps: Effects[] = [];
    const apply = () => {
      const rooms = {
        driver: this.driver,
        tx: this.tx,
        book: this.book,
        catalog: this.catalog,
        clock: this.clock,
        alien: this.alien,
        dropped: this.dropped,
        now: this.opts.now,
        logger: this.opts.logger,
      };
      for (const e of applyMigrations(rooms, migrations)) steps.push(e);
      this.schema = schemaVersionOf(migrations);
    };
    try {
      // Captured writes are stamped under the schema they were written in; the triggers follow the new one.
      if (this.capture) this.capture.migrating(apply);
      else apply();
    } catch (err) {
      // Steps before a failing one stay applied.
      try {
        this.schema = readSchemaVersion(this.driver);
      } catch {
        /* the database refuses reads: the old version stays advertised */
      }
      throw err;
    } finally {
      // What the applied steps merged is announced.
      const e = noEffects(false, undefined);
      for (const s of steps) e.replayed.push(...s.replayed);
      if (e.replayed.length > 0) this.publisher.publish(e, this.book.seq);
    }
  }

  /**
   * Writes a patch: the primary key plus the columns to set (null sets NULL, absent columns
   * are untouched). Returns the session token "<peerId>.<sequenceId>".
   */
  upsert<T extends TableName<DB>>(table: T, row: UpsertRow<DB, T, Keys>): string {
    this.assertOpen();
    return this.local.upsert(table, row as Record<string, unknown>);
  }

  /** Many rows of one table in one transaction and one batch; returns their tokens. */
  upsertMany<T extends TableName<DB>>(table: T, rows: readonly UpsertRow<DB, T, Keys>[]): string[] {
    this.assertOpen();
    return this.local.upsertMany(table, rows as readonly Record<string, unknown>[]);
  }

  /** Runs `fn` in one SQLite transaction, sent as one batch; if it throws nothing is written. */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    return this.local.transaction(fn);
  }

  /**
   * Turns the rows already in `table` that have no patch yet into patches of this replica, in
   * batches of `batchSize` rows (one transaction and one group each), reporting each batch to
   * `onProgress`; peers receive them like any write. Rows that have a patch are skipped, so a
   * second run adds nothing. Returns the number of rows adopted.
   */
  adopt(table: string, options?: AdoptOptions): number {
    this.assertOpen();
    if (this.tx.active) throw new ReplicError("TRANSACTION", "adopt() cannot run inside transaction(): each batch is its own");
    return adoptRows({ driver: this.driver, catalog: this.catalog, local: this.local, maxGroupPatches: this.opts.limits.maxGroupPatches }, table, options);
  }

  /** The rows this replica holds, as checked at open (values as stored); undefined: every row. */
  get scope(): Scope | undefined {
    return this.heldScope?.scope;
  }

  /**
   * Links a neighbour: `send` delivers bytes to it (the transport is yours). `allow`: the widest
   * scope it may write here; a patches message from it with a patch outside is refused whole
   * (OUT_OF_SCOPE). Linking it again replaces `send` and `allow` (absent: anything).
   */
  addPeer(peerId: number, send: (message: Uint8Array) => void, options?: { allow?: Scope }): void {
    this.assertOpen();
    if (!isUint32(peerId)) throw new ReplicError("INVALID_OPTION", `peerId must be a uint32, got ${String(peerId)}`);
    if (typeof send !== "function") throw new ReplicError("INVALID_OPTION", "addPeer needs a send function");
    if (peerId === this.peerId) throw new ReplicError("INVALID_OPTION", "a replica cannot link to itself");
    if (options !== undefined && (typeof options !== "object" || options === null)) throw new ReplicError("INVALID_OPTION", "addPeer's options must be an object { allow? }");
    const allow = resolveScope(this.catalog, options?.allow, "allow");
    const link = this.neighbours.add(peerId, send, allow);
    this.metricsRegistry.set("peers", this.neighbours.size);
    // Start exchanging at once rather than at the next round (with a timer; manual drivers tick).
    if (this.opts.heartbeatMs > 0) {
      queueMicrotask(() => {
        if (this.closed || this.tx.broken || this.neighbours.get(peerId) !== link) return;
        try {
          this.drainCaptured(true);
        } catch (err) {
          this.opts.logger?.warn("replic: draining captured writes failed", err);
        }
        this.sendHeartbeats([link]);
        this.outbox.flush();
      });
    }
  }

  removePeer(peerId: number): void {
    if (!this.neighbours.remove(peerId)) return;
    this.gaps.forgetLink(peerId);
    this.heartbeatsIn.forgetLink(peerId);
    this.metricsRegistry.drop("peer_clock_drift_seconds", { peer: peerId });
    this.metricsRegistry.drop("peer_lag_patches", { peer: peerId });
    this.metricsRegistry.set("peers", this.neighbours.size);
  }

  /** Handles bytes from a neighbour; a bad message throws a typed error and writes nothing. */
  receive(fromPeerId: number, message: Uint8Array): void {
    this.assertOpen();
    if (this.tx.active) throw new ReplicError("TRANSACTION", "receive() cannot run inside transaction()");
    const t0 = performance.now();
    const appliedBefore = this.metricsRegistry.get("patches_applied_total");
    // A received patch orders after what plain SQL wrote before it, as the clock says.
    this.drainCaptured(false);
    this.quiet(() => this.inbound.receive(fromPeerId, message));
    // One merge batch: a patches message that merged something (not heartbeats, requests or only duplicates).
    if (this.metricsRegistry.get("patches_applied_total") > appliedBefore) this.metricsRegistry.observe("merge_batch_duration_seconds", (performance.now() - t0) / 1000);
  }

  /** One heartbeat / anti-entropy round, now: advertise heads, re-ask for gaps, collect garbage. */
  tick(): void {
    this.assertOpen();
    if (this.tx.active) throw new ReplicError("TRANSACTION", "tick() cannot run inside transaction()");
    this.ticks++;
    this.drainCaptured(true);
    this.quiet(() => this.round());
  }

  private round(): void {
    this.neighbours.newRound(undefined, this.opts.now());
    this.inbound.releaseHeld();
    this.reportOverdueGroups();
    this.heartbeats.newRound();
    this.sendHeartbeats([...this.neighbours.links.values()]);
    this.gaps.run(this.opts.now());
    if (this.opts.retentionMs > 0 && this.ticks % GC_EVERY_TICKS === 1) {
      try {
        this.reaper.collect();
      } catch (err) {
        // Collection is retried at the next turn; the round itself goes on.
        this.metricsRegistry.inc("gc_errors_total");
        this.opts.logger?.warn("replic: garbage collection failed", err);
        this.tx.assertUsable();
      }
    }
    this.outbox.flush();
    // Last, so what the round sends is out first; skipped while captured writes wait (T is ahead of the patches then).
    if (!this.capture?.queue.pending()) this.scrubber.round();
  }

  /**
   * Recomputes `table` (every replicated table when absent) from the patch log by the merge rule,
   * in bounded batches, one transaction each; returns per table what changed (docs/trust.md).
   */
  rebuild(table?: string, options?: RebuildOptions): RebuildReport[] {
    this.assertOpen();
    if (this.tx.active) throw new ReplicError("TRANSACTION", "rebuild() cannot run inside transaction(): each batch is its own");
    if (table !== undefined) this.catalog.get(table);
    // Captured writes get their patches first: a rebuild must not undo them.
    this.drainCaptured(false);
    const reports = this.quiet(() => this.rebuilder.rebuild(table, options));
    this.scrubber.forget(table);
    return reports;
  }

  /** One heartbeat each: deltas where the neighbour reads them, each distinct one encoded once (heartbeats.ts). */
  private sendHeartbeats(links: readonly Link[]): void {
    this.heartbeats.send(links);
  }

  /** Groups still incomplete once older than the retention window: reported once each, never half-applied. */
  private reportOverdueGroups(): void {
    if (this.incomplete.count === 0 || this.opts.retentionMs === 0) return;
    for (const g of this.incomplete.overdue(this.opts.now() - this.opts.retentionMs)) {
      const { peerId, first, last } = g.group;
      this.metricsRegistry.inc("incomplete_groups_overdue_total");
      this.opts.logger?.warn(`replic: group ${peerId}.${first}-${last} is still incomplete (${g.parts} of ${last - first + 1} parts) past the retention window`);
      this.events.emit("incomplete_group", { peerId, first, last, parts: g.parts, patchedAt: g.patchedAt });
    }
  }

  /** Collects patches older than the retention window now; returns how many. */
  gc(): number {
    this.assertOpen();
    if (this.tx.active) throw new ReplicError("TRANSACTION", "gc() cannot run inside transaction()");
    return this.quiet(() => this.reaper.collect());
  }

  /** Resolves once this replica has merged the token's write and all earlier ones of its peer. */
  waitFor(token: string, timeoutMs?: number): Promise<void> {
    const parsed = parseToken(token);
    if (!parsed) return Promise.reject(new ReplicError("INVALID_TOKEN", `not a session token: ${String(token)}`));
    if (this.closed) return Promise.reject(new ReplicError("CLOSED", "replica is closed"));
    const [origin, seq] = parsed;
    if (this.origins.contiguous(origin) >= seq) return Promise.resolve();
    if (this.staleness.has(origin)) return Promise.reject(this.staleness.error(origin, this.peerId));
    const ms = timeoutMs ?? this.opts.waitTimeoutMs;
    return this.waiters.wait(origin, seq, ms, () => `write ${token} not merged by replica ${this.peerId}`);
  }

  /**
   * Rows merged but not shown in their table because they break one of its constraints (NOT NULL
   * without a value, CHECK, UNIQUE, a parent not here), of every table or of one.
   */
  parked(table?: string): ParkedRow[] {
    this.assertOpen();
    if (table !== undefined) this.catalog.get(table);
    const v = this.catalog.visibility;
    return v.parked.list((t) => v.keyNames(t), table);
  }

  status(): ReplicaStatus {
    return buildStatus({
      peerId: this.peerId,
      binding: this.driver.name,
      tables: [...this.catalog.tables.keys()],
      sequence: this.book.seq,
      clock: this.clock.current,
      origins: this.origins,
      neighbours: this.neighbours,
      staleness: this.staleness,
      identity: this.identity,
      heldPatches: this.held.count,
      incompleteGroups: this.incomplete.status(this.opts.now()),
      schema: this.schema,
      scope: this.scope ?? null,
      ...this.storedCounts(),
      divergent: this.scrubber.counts(),
      broken: this.tx.broken?.message ?? null,
      closed: this.closed,
    });
  }

  metrics(): string {
    this.updateLagMetrics();
    this.metricsRegistry.set("sequence", this.book.seq);
    this.metricsRegistry.set("patches_held", this.held.count);
    const incomplete = this.incomplete.status(this.opts.now());
    this.metricsRegistry.set("incomplete_groups", incomplete.count);
    this.metricsRegistry.set("incomplete_group_patches", incomplete.patches);
    this.metricsRegistry.set("schema_version", this.schema.version);
    const { alienPatches, parkedRows } = this.storedCounts();
    this.metricsRegistry.clear("alien_patches");
    for (const c of alienPatches) this.metricsRegistry.set("alien_patches", c.patches, { table: c.table });
    this.metricsRegistry.clear("parked_rows");
    for (const c of parkedRows) this.metricsRegistry.set("parked_rows", c.rows, { table: c.table, reason: c.reason });
    return this.metricsRegistry.text();
  }

  /**
   * Counts read from the database. A closed replica answers with those read at close: the
   * application may have closed the database since, and status() must still answer.
   */
  private storedCounts(): Pick<ReplicaStatus, "alienPatches" | "parkedRows"> {
    if (this.countsAtClose) return this.countsAtClose;
    return { alienPatches: this.alien.counts(), parkedRows: this.catalog.visibility.parked.counts() };
  }

  /** Per-neighbour lag, on scrape only: O(links × origins), too much for every round of a hub. */
  private updateLagMetrics(): void {
    this.metricsRegistry.clear("peer_lag_patches");
    for (const l of this.neighbours.links.values()) {
      this.metricsRegistry.set("peer_lag_patches", this.neighbours.lag(l, this.origins).behind, { peer: l.peerId });
    }
  }

  on(event: "stale", listener: (err: StaleReplicaError) => void): () => void;
  on(event: "merge", listener: (e: MergeEvent<TableName<DB>>) => void): () => void;
  on(event: "identity_conflict", listener: (err: IdentityConflictError) => void): () => void;
  on(event: "incomplete_group", listener: (e: IncompleteGroupEvent) => void): () => void;
  on(event: "parked", listener: (e: ParkedEvent) => void): () => void;
  on(event: "divergence", listener: (e: DivergenceEvent) => void): () => void;
  on<E extends ReplicaEvent>(event: E, listener: (e: ReplicaEvents[E]) => void): () => void {
    if (!["stale", "merge", "identity_conflict", "incomplete_group", "parked", "divergence"].includes(event)) throw new ReplicError("INVALID_OPTION", `unknown event "${String(event)}"`);
    return this.events.on(event, listener);
  }

  /** Stops timers, rejects pending waits and releases statements. The database stays open. */
  close(): void {
    if (this.closed) return;
    if (!this.tx.broken && !this.tx.active) {
      // Record the marks and the patch tables as they are now (a table dropped by hand since is
      // then known to be gone on purpose). Best effort: the patch tables hold them anyway.
      try {
        this.tx.run(() => this.book.persist(this.clock.current, this.catalog.present()), () => {});
      } catch (err) {
        this.opts.logger?.debug?.("replic: recording the high-water marks at close failed", err);
      }
    }
    try {
      this.countsAtClose = this.storedCounts();
    } catch (err) {
      this.countsAtClose = { alienPatches: [], parkedRows: [] };
      this.opts.logger?.debug?.("replic: reading the stored counts at close failed", err);
    }
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.waiters.rejectAll(new ReplicError("CLOSED", "replica closed"));
    this.neighbours.links.clear();
    this.driver.release?.();
  }

  private assertOpen(): void {
    if (this.closed) throw new ReplicError("CLOSED", "replica is closed");
    this.tx.assertUsable();
  }
}
