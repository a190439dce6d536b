/**
 * `_replic_groups`: the bounds of every merged group of two or more patches (one origin's
 * transaction, sequences `first..last`). Serving and relaying name a patch's group from here, so
 * a neighbour that asks for part of a group learns what else it needs; a group arriving with
 * other bounds than the ones stored is refused. Collected with the patches it covers.
 */
import type { SqliteDriver } from "./driver.js";
import { StatementCache } from "./statement-cache.js";
import type { WireGroup } from "./wire/types.js";

export const GROUPS_TABLE = "_replic_groups";

const INSERT = `INSERT OR IGNORE INTO ${GROUPS_TABLE} (peerId, last, first) VALUES (?, ?, ?)`;
const OVERLAPPING = `SELECT first, last FROM ${GROUPS_TABLE} WHERE peerId = ? AND last >= ? AND first <= ? ORDER BY last LIMIT ?`;
const COLLECT = `DELETE FROM ${GROUPS_TABLE} WHERE peerId = ? AND last < ?`;

export class GroupBounds {

  private readonly st: StatementCache;

  constructor(private readonly driver: SqliteDriver) {
    this.st = new StatementCache(driver);
    driver.exec(`CREATE TABLE IF NOT EXISTS ${GROUPS_TABLE} (
      peerId INTEGER NOT NULL, last INTEGER NOT NULL, first INTEGER NOT NULL,
      PRIMARY KEY (peerId, last)) WITHOUT ROWID`);
  }

  /** Records a merged group (in the caller's transaction). */
  record(g: WireGroup): void {
    this.st.get(INSERT).run([g.peerId, g.last, g.first]);
  }

  /** The stored groups of `peerId` that overlap `from..to`, in order (at most `max`). */
  overlapping(peerId: number, from: number, to: number, max = 1_000_000): WireGroup[] {
    return this.st.get(OVERLAPPING)
      .all([peerId, from, to, max])
      .map((r) => ({ peerId, first: Number(r[0]), last: Number(r[1]) }));
  }

  /** Forgets the groups of `peerId` that end below `retainedFrom` (their patches were collected). */
  collect(peerId: number, retainedFrom: number): void {
    this.st.get(COLLECT).run([peerId, retainedFrom]);
  }
}
