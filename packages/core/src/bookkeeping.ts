/**
 * The replica's own bookkeeping in `_replic_state` and `_replic_peers`: its peer id, the durable
 * high-water marks of its sequence and clock, the collection horizon, which open replica owns the
 * database (the writer token), and what is held of every origin.
 *
 * The sequence and clock are written in every transaction that uses them, so they never go back,
 * whatever patch tables are dropped or collected; at open they are also checked against the
 * patch tables (a database written by an older build kept them only there).
 */
import type { SqliteDriver, SqliteStatement } from "./driver.js";
import { IdentityConflictError, ReplicError } from "./errors.js";
import { isUint32, randomPeerId, randomWriterToken } from "./ids.js";

export const STATE_TABLE = "_replic_state";
export const PEERS_TABLE = "_replic_peers";
export const MIGRATIONS_TABLE = "_replic_migrations";

export interface PersistedHead {
  peerId: number;
  contiguous: number;
  highest: number;
  retainedFrom: number;
}

export class Bookkeeping {
  readonly peerId: number;
  /** Last local sequence number used. */
  seq: number;
  /** Highest timestamp merged into any table (local or remote): above it, a patch is the newest of its row. */
  highestTs: number;
  /** Patches stamped below this may have later patches of their row collected: never merged. */
  gcHorizon: number;
  /** The clock value last persisted (restored on open). */
  readonly storedClock: number;
  /** This replica's claim on the database; another opener replaces it (see claimWriter). */
  private writer = 0;
  private readonly saveStmt: SqliteStatement;
  private readonly writerStmt: SqliteStatement;
  private readonly savePeerStmt: SqliteStatement;

  constructor(private readonly driver: SqliteDriver, peerId: number | undefined) {
    driver.exec(`CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (
      id INTEGER PRIMARY KEY CHECK (id = 1), peerId INTEGER NOT NULL, seq INTEGER NOT NULL,
      clock INTEGER NOT NULL, highestTs INTEGER NOT NULL, gcHorizon INTEGER NOT NULL DEFAULT 0,
      writer INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS ${PEERS_TABLE} (
      peerId INTEGER PRIMARY KEY, contiguous INTEGER NOT NULL, highest INTEGER NOT NULL,
      retainedFrom INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version INTEGER PRIMARY KEY, up TEXT NOT NULL, down TEXT NOT NULL, appliedAt INTEGER NOT NULL);`);
    const hasWriter = driver.prepare(`SELECT count(*) FROM pragma_table_info('${STATE_TABLE}') WHERE name = 'writer'`).get([]);
    if (Number(hasWriter?.[0]) === 0) driver.exec(`ALTER TABLE ${STATE_TABLE} ADD COLUMN writer INTEGER NOT NULL DEFAULT 0`);

    let state = driver.prepare(`SELECT peerId, seq, clock, highestTs, gcHorizon FROM ${STATE_TABLE} WHERE id = 1`).get([]);
    if (!state) {
      const id = peerId ?? randomPeerId();
      driver.prepare(`INSERT INTO ${STATE_TABLE} (id, peerId, seq, clock, highestTs) VALUES (1, ?, 0, 0, 0)`).run([id]);
      state = [id, 0, 0, 0, 0];
    }
    const stored = Number(state[0]);
    if (peerId !== undefined && peerId !== stored) {
      throw new ReplicError("INVALID_OPTION", `this database belongs to peer ${stored}; it cannot be opened as peer ${peerId}`);
    }
    this.peerId = stored;
    this.seq = Number(state[1]);
    this.storedClock = Number(state[2]);
    this.highestTs = Number(state[3]);
    this.gcHorizon = Number(state[4]);
    this.saveStmt = driver.prepare(`UPDATE ${STATE_TABLE} SET seq = ?, clock = ?, highestTs = ?, gcHorizon = ? WHERE id = 1 AND writer = ?`);
    this.writerStmt = driver.prepare(`SELECT writer FROM ${STATE_TABLE} WHERE id = 1`);
    this.savePeerStmt = driver.prepare(
      `INSERT INTO ${PEERS_TABLE} (peerId, contiguous, highest, retainedFrom) VALUES (?, ?, ?, ?)
       ON CONFLICT (peerId) DO UPDATE SET contiguous = excluded.contiguous, highest = excluded.highest, retainedFrom = excluded.retainedFrom`,
    );
  }

  /**
   * Makes this replica the database's one writer. A replica opened earlier on the same file
   * (another connection or process) finds the token changed at its next commit and stops
   * writing with IDENTITY_CONFLICT: two writers never hand out the same sequence numbers.
   */
  claimWriter(): void {
    this.writer = randomWriterToken();
    this.driver.prepare(`UPDATE ${STATE_TABLE} SET writer = ? WHERE id = 1`).run([this.writer]);
  }

  /** True when another replica has opened this database since this one did. */
  superseded(): boolean {
    const row = this.writerStmt.get([]);
    return !row || Number(row[0]) !== this.writer;
  }

  /** Writes the high-water marks inside the caller's transaction; throws when superseded. */
  persist(clock: number): void {
    if (this.saveStmt.run([this.seq, clock, this.highestTs, this.gcHorizon, this.writer]) !== 1) throw this.supersededError();
  }

  supersededError(): IdentityConflictError {
    return new IdentityConflictError(
      this.peerId,
      `another replica opened this database (peer ${this.peerId}) after this one; this one no longer writes (close it)`,
    );
  }

  savePeer(h: PersistedHead): void {
    this.savePeerStmt.run([h.peerId, h.contiguous, h.highest, h.retainedFrom]);
  }

  loadPeers(): PersistedHead[] {
    return this.driver
      .prepare(`SELECT peerId, contiguous, highest, retainedFrom FROM ${PEERS_TABLE}`)
      .all([])
      .map((r) => ({ peerId: Number(r[0]), contiguous: Number(r[1]), highest: Number(r[2]), retainedFrom: Number(r[3]) }));
  }
}

/**
 * Turns a copy of another peer's database into a new peer (the re-seed path for a stale
 * replica, and what a database restored from a backup must do): gives it a fresh peer id and
 * starts its own sequence at 0, keeping every row, patch and head it copied. Run it before
 * `openReplica` on the copy.
 */
export function assignNewPeerId(driver: SqliteDriver, peerId?: number): number {
  const state = driver.prepare(`SELECT peerId FROM ${STATE_TABLE} WHERE id = 1`).get([]);
  if (!state) throw new ReplicError("INVALID_OPTION", "not a replic database (no replica was ever opened on it)");
  const known = new Set(driver.prepare(`SELECT peerId FROM ${PEERS_TABLE}`).all([]).map((r) => Number(r[0])));
  known.add(Number(state[0]));
  if (peerId !== undefined && (!isUint32(peerId) || peerId === 0 || known.has(peerId))) {
    throw new ReplicError("INVALID_OPTION", `peer id ${String(peerId)} is not a fresh uint32 for this database`);
  }
  let id = peerId ?? randomPeerId();
  while (known.has(id)) id = randomPeerId();
  // What the copy holds of its former self stays known as a remote origin: it is not fetched again.
  const old = driver.prepare(`SELECT peerId, seq FROM ${STATE_TABLE} WHERE id = 1`).get([])!;
  const oldSeq = Number(old[1]);
  if (oldSeq > 0) {
    driver
      .prepare(
        `INSERT INTO ${PEERS_TABLE} (peerId, contiguous, highest, retainedFrom) VALUES (?, ?, ?, 1)
         ON CONFLICT (peerId) DO UPDATE SET contiguous = max(contiguous, excluded.contiguous), highest = max(highest, excluded.highest)`,
      )
      .run([Number(old[0]), oldSeq, oldSeq]);
  }
  driver.prepare(`UPDATE ${STATE_TABLE} SET peerId = ?, seq = 0 WHERE id = 1`).run([id]);
  return id;
}
