/**
 * The replica's own bookkeeping in `_replic_state` and `_replic_peers`: its peer id, the durable
 * high-water marks of its sequence and clock, the collection horizon, which open replica owns the
 * database (the writer token), and what is held of every origin.
 *
 * The sequence and clock are recorded at every step that can delete patch rows of our own
 * (migrations, collection) and at close, together with the list of patch tables; between those
 * the patch tables themselves hold the newest values. At open both are read and the higher wins;
 * a patch table that vanished outside migrate() since the last record means the sequence cannot
 * be known, and the open is refused (SEQUENCE_UNKNOWN) rather than risk reusing a number.
 */
import type { SqliteDriver, SqliteStatement } from "./driver.js";
import { IdentityConflictError, ReplicError } from "./errors.js";
import { isUint32, randomPeerId, randomWriterToken } from "./ids.js";

export const STATE_TABLE = "_replic_state";
export const PEERS_TABLE = "_replic_peers";
export const MIGRATIONS_TABLE = "_replic_migrations";
const TABLE_SEPARATOR = "\u001f";

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
  /**
   * Origin and sequence of the patch that set `highestTs`, when this process merged it: patches of
   * one group share a stamp, so ties are decided by them. Unknown (Infinity) after open: a tie is
   * then never taken as the newest, which is only slower.
   */
  highestPeer = Infinity;
  highestSeq = Infinity;
  /** Patches stamped below this may have later patches of their row collected: never merged. */
  gcHorizon: number;
  /** The clock value last persisted (restored on open). */
  readonly storedClock: number;
  /** This replica's claim on the database; another opener replaces it (see claimWriter). */
  private writer = 0;
  /** The patch tables when the marks were last recorded (a table missing at open was dropped by hand). */
  readonly recordedTables: string[];
  /** SQLite's data_version when this connection last saw the database as only it had written it. */
  private dataVersion: number | undefined;
  private readonly dataVersionStmt: SqliteStatement;
  /** The database cannot be opened by anyone else (in memory): the fence has nothing to check. */
  private readonly private: boolean;
  private readonly saveStmt: SqliteStatement;
  private readonly writerStmt: SqliteStatement;
  private readonly savePeerStmt: SqliteStatement;

  constructor(private readonly driver: SqliteDriver, peerId: number | undefined) {
    driver.exec(`CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (
      id INTEGER PRIMARY KEY CHECK (id = 1), peerId INTEGER NOT NULL, seq INTEGER NOT NULL,
      clock INTEGER NOT NULL, highestTs INTEGER NOT NULL, gcHorizon INTEGER NOT NULL DEFAULT 0,
      writer INTEGER NOT NULL DEFAULT 0, tables TEXT NOT NULL DEFAULT '');
    CREATE TABLE IF NOT EXISTS ${PEERS_TABLE} (
      peerId INTEGER PRIMARY KEY, contiguous INTEGER NOT NULL, highest INTEGER NOT NULL,
      retainedFrom INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version INTEGER PRIMARY KEY, up TEXT NOT NULL, down TEXT NOT NULL, appliedAt INTEGER NOT NULL);`);
    for (const [column, ddl] of [
      ["writer", "writer INTEGER NOT NULL DEFAULT 0"],
      ["tables", "tables TEXT NOT NULL DEFAULT ''"],
    ] as const) {
      const has = driver.prepare(`SELECT count(*) FROM pragma_table_info('${STATE_TABLE}') WHERE name = ?`).get([column]);
      if (Number(has?.[0]) === 0) driver.exec(`ALTER TABLE ${STATE_TABLE} ADD COLUMN ${ddl}`);
    }

    let state = driver.prepare(`SELECT peerId, seq, clock, highestTs, gcHorizon, tables FROM ${STATE_TABLE} WHERE id = 1`).get([]);
    if (!state) {
      const id = peerId ?? randomPeerId();
      driver.prepare(`INSERT INTO ${STATE_TABLE} (id, peerId, seq, clock, highestTs) VALUES (1, ?, 0, 0, 0)`).run([id]);
      state = [id, 0, 0, 0, 0, ""];
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
    this.recordedTables = String(state[5] ?? "") === "" ? [] : String(state[5]).split(TABLE_SEPARATOR);
    this.saveStmt = driver.prepare(
      `UPDATE ${STATE_TABLE} SET seq = ?, clock = ?, highestTs = ?, gcHorizon = ?, tables = ? WHERE id = 1 AND writer = ?`,
    );
    this.dataVersionStmt = driver.prepare("PRAGMA data_version");
    // An in-memory (or temporary) database belongs to this connection alone: no second opener.
    const main = driver.prepare(`SELECT file FROM pragma_database_list WHERE name = 'main'`).get([]);
    this.private = !main || main[0] === null || String(main[0]) === "";
    this.writerStmt = driver.prepare(`SELECT writer FROM ${STATE_TABLE} WHERE id = 1`);
    this.savePeerStmt = driver.prepare(
      `INSERT INTO ${PEERS_TABLE} (peerId, contiguous, highest, retainedFrom) VALUES (?, ?, ?, ?)
       ON CONFLICT (peerId) DO UPDATE SET contiguous = excluded.contiguous, highest = excluded.highest, retainedFrom = excluded.retainedFrom`,
    );
  }

  /** True when a patch ordered (ts, peerId, seq) comes after every patch merged so far. */
  isNewest(ts: number, peerId: number, seq: number): boolean {
    if (ts !== this.highestTs) return ts > this.highestTs;
    return peerId > this.highestPeer || (peerId === this.highestPeer && seq > this.highestSeq);
  }

  /** Notes a merged patch: it may be the new highest. */
  noteMerged(ts: number, peerId: number, seq: number): void {
    if (!this.isNewest(ts, peerId, seq)) return;
    this.highestTs = ts;
    this.highestPeer = peerId;
    this.highestSeq = seq;
  }

  /** The highest mark, to put back after a rollback. */
  highestMark(): [number, number, number] {
    return [this.highestTs, this.highestPeer, this.highestSeq];
  }

  restoreHighest(mark: readonly [number, number, number]): void {
    [this.highestTs, this.highestPeer, this.highestSeq] = mark;
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

  /**
   * Throws IDENTITY_CONFLICT when another replica has taken this database over. Cheap: the writer
   * token is read only when SQLite says another connection committed since we last looked.
   */
  fence(): void {
    if (this.private) return;
    const v = Number(this.dataVersionStmt.get([])![0]);
    if (v === this.dataVersion) return;
    if (this.superseded()) throw this.supersededError();
    this.dataVersion = v;
  }

  /** True when another replica has opened this database since this one did. */
  superseded(): boolean {
    const row = this.writerStmt.get([]);
    return !row || Number(row[0]) !== this.writer;
  }

  /** Records the high-water marks and the patch tables inside the caller's transaction; throws when superseded. */
  persist(clock: number, tables: Iterable<string>): void {
    const list = [...tables].sort().join(TABLE_SEPARATOR);
    if (this.saveStmt.run([this.seq, clock, this.highestTs, this.gcHorizon, list, this.writer]) !== 1) throw this.supersededError();
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
  // A new identity starts its own sequence: what vanished from the old one no longer matters.
  const hasTables = driver.prepare(`SELECT count(*) FROM pragma_table_info('${STATE_TABLE}') WHERE name = 'tables'`).get([]);
  if (Number(hasTables?.[0]) > 0) driver.prepare(`UPDATE ${STATE_TABLE} SET tables = '' WHERE id = 1`).run([]);
  return id;
}
