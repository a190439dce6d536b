/**
 * status(): a snapshot of what this replica holds, what its neighbours hold, and what is wrong.
 */
import type { AlienCount } from "./alien-store.js";
import type { IdentityGuard } from "./identity.js";
import type { ParkedCount } from "./parked-rows.js";
import type { Neighbours } from "./neighbours.js";
import type { Origins } from "./origins.js";
import type { Scope } from "./scope.js";
import type { DivergentCount } from "./scrub.js";
import type { Staleness } from "./staleness.js";
import type { PeerHead, SchemaVersion } from "./wire/types.js";

export interface OriginStatus {
  peerId: number;
  contiguous: number;
  highest: number;
  retainedFrom: number;
  /** Sequences known to exist (from anyone's heartbeat) that this replica lacks. */
  missing: number;
  /** Patches of this origin held back as stamped beyond the clock-drift bound. */
  held: number;
  /** True when no neighbour can supply what this replica lacks: it needs a re-seed. */
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
  /** Its schema version from its last heartbeat (null before one, or from an older build). */
  schema: SchemaVersion | null;
  /** The widest scope it may write here (addPeer's `allow`); null: anything. */
  allow: Scope | null;
  /** Its patches messages refused because a patch was outside `allow`. */
  outOfScope: number;
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
  /** Patches held back now (stamped beyond the clock-drift bound). */
  heldPatches: number;
  /** Groups received in part, waiting for the rest (nothing of them is visible yet). */
  incompleteGroups: IncompleteGroupsStatus;
  /** This replica's schema version: applied migrations and a hash of their texts. */
  schema: SchemaVersion;
  /** The rows this replica holds (the `scope` option, values as stored); null: every row. */
  scope: Scope | null;
  /** Patches kept whole because they name a table or column unknown here, per table and column. */
  alienPatches: AlienCount[];
  /** Rows not shown because they break a constraint of their table, per table and reason (see parked()). */
  parkedRows: ParkedCount[];
  /** Rows found differing from the merge of their patches and not repaired since, per table (the scrub, docs/trust.md). */
  divergent: DivergentCount[];
  /** Signs of a second writer under this peer id (see docs/design.md), with the last message. */
  identityConflicts: { count: number; last: string | null };
  /** Set when this replica stopped writing (another replica opened its database, or a ROLLBACK failed). */
  broken: string | null;
  closed: boolean;
}

export interface IncompleteGroupsStatus {
  /** Groups waiting. */
  count: number;
  /** Their parts stored. */
  patches: number;
  /** Age of the oldest one's stamp, ms (0 when none). */
  oldestAgeMs: number;
}

export interface StatusRooms {
  peerId: number;
  binding: string;
  tables: string[];
  sequence: number;
  clock: number;
  origins: Origins;
  neighbours: Neighbours;
  staleness: Staleness;
  identity: IdentityGuard;
  heldPatches: number;
  incompleteGroups: IncompleteGroupsStatus;
  schema: SchemaVersion;
  scope: Scope | null;
  alienPatches: AlienCount[];
  parkedRows: ParkedCount[];
  divergent: DivergentCount[];
  broken: string | null;
  closed: boolean;
}

export function buildStatus(r: StatusRooms): ReplicaStatus {
  const origins: OriginStatus[] = [];
  for (const o of r.origins.all.values()) {
    let upTo = o.highest;
    for (const l of r.neighbours.links.values()) upTo = Math.max(upTo, l.heads.get(o.peerId)?.highest ?? 0);
    origins.push({
      peerId: o.peerId,
      contiguous: o.contiguous,
      highest: o.highest,
      retainedFrom: o.retainedFrom,
      missing: o.missingCount(upTo),
      held: o.held.size,
      stale: r.staleness.has(o.peerId),
    });
  }
  return {
    peerId: r.peerId,
    binding: r.binding,
    tables: r.tables,
    sequence: r.sequence,
    clock: r.clock,
    origins,
    peers: [...r.neighbours.links.values()].map((l) => ({
      peerId: l.peerId,
      lastContact: l.lastContact,
      ...r.neighbours.lag(l, r.origins),
      clockDriftMs: l.clockDriftMs,
      heads: [...l.heads.values()].map((h) => ({ ...h })),
      schema: l.schema ? { ...l.schema } : null,
      allow: l.allow?.scope ?? null,
      outOfScope: l.outOfScope,
    })),
    staleOrigins: r.staleness.origins(),
    heldPatches: r.heldPatches,
    incompleteGroups: { ...r.incompleteGroups },
    schema: { ...r.schema },
    scope: r.scope,
    alienPatches: r.alienPatches,
    parkedRows: r.parkedRows,
    divergent: r.divergent,
    identityConflicts: { count: r.identity.count, last: r.identity.last?.message ?? null },
    broken: r.broken,
    closed: r.closed,
  };
}
