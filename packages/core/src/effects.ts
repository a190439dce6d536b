/**
 * What one commit did, as a value: the commit pipeline's store-and-merge step returns it, and
 * publish (publisher.ts) acts on it after COMMIT — nothing is sent, announced or resolved
 * before the data is durable, and nothing after COMMIT is decided anywhere else.
 */
import type { AlienPatch } from "./alien-patch.js";
import type { SqlValue } from "./driver.js";
import type { MetricName } from "./metric-names.js";
import type { Link } from "./neighbours.js";
import type { LocalPatch } from "./replicated-table.js";
import type { ParkChange } from "./visibility.js";

export interface Effects {
  /** This replica's own transaction (true), or patches received from `from` or released from a hold. */
  local: boolean;
  from: Link | undefined;
  /** Received patches merged now (engine form), in the order merged. */
  merged: LocalPatch[];
  /**
   * Patches of groups too large to read at once, merged from storage and not listed in `merged`
   * (not relayed: neighbours fetch them through gap repair; their keys are in `keys` when wanted).
   */
  fromStore: number;
  /** Alien patches of tables unknown here, kept whole (they count as held). */
  kept: AlienPatch[];
  /** The whole form of merged patches that name something unknown here (relayed as received). */
  alienOf: Map<LocalPatch, AlienPatch> | undefined;
  /** The sender's version replaced ours under one sequence (two writers): passed on to everyone. */
  replaced: LocalPatch[];
  /** Patches a migration made known (merged now, relayed long ago as received): announced only. */
  replayed: LocalPatch[];
  /** Our version won against the sender's: sent back to it. */
  sendBack: LocalPatch[];
  /** Rows parked (not valid under T's constraints) or released by this commit (visibility.ts). */
  rows: ParkChange[];
  /** Parts of incomplete groups stored to wait for the rest (progress for gap repair, nothing visible). */
  parked: number;
  /** Origins whose heads moved. */
  advanced: Set<number>;
  /** A local transaction: its patches written, tables and keys (for the merge event), its messages by wire version. */
  written: number;
  tables: string[] | undefined;
  /**
   * Keys of rows written that no listed patch names, for the merge event: a local transaction's,
   * a group merged from storage, the rows a rebuild rewrote.
   */
  keys: Record<string, SqlValue[][]> | undefined;
  outgoing: ((version: number) => Uint8Array[]) | undefined;
  /** Counters to add. */
  counts: Partial<Record<MetricName, number>>;
  /** A sign of a second writer under our id (the last one seen in the commit), raised once. */
  ownConflict: string | undefined;
  /** Per origin, patches that differ from the stored one under the same sequence (two writers under one id). */
  conflicting: Map<number, number>;
}

export function noEffects(local: boolean, from: Link | undefined): Effects {
  return {
    local,
    from,
    merged: [],
    fromStore: 0,
    kept: [],
    alienOf: undefined,
    replaced: [],
    replayed: [],
    sendBack: [],
    rows: [],
    parked: 0,
    advanced: new Set(),
    written: 0,
    tables: undefined,
    keys: undefined,
    outgoing: undefined,
    counts: {},
    ownConflict: undefined,
    conflicting: new Map(),
  };
}

/** Adds `n` to a counter of `e`. */
export function count(e: Effects, name: MetricName, n = 1): void {
  if (n !== 0) e.counts[name] = (e.counts[name] ?? 0) + n;
}
