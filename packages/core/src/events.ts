/**
 * Typed events of a replica. A listener that throws is logged and does not stop the others or
 * the write that emitted the event.
 */
import type { SqlValue } from "./driver.js";
import type { IdentityConflictError, StaleReplicaError } from "./errors.js";
import type { Logger } from "./options.js";
import type { ParkReason } from "./parked-rows.js";
import type { DivergenceKind } from "./row-recompute.js";

/** A merge; on a typed replica (`openReplica<DB>`) `Table` is the union of its table names. */
export interface MergeEvent<Table extends string = string> {
  /** True for this replica's own writes, false for patches merged from neighbours. */
  local: boolean;
  /** Patches merged. */
  patches: number;
  /** Names of the tables those patches touched. */
  tables: Table[];
  /** Per table, the primary keys (values in key order) of the rows those patches touched. */
  keys: string extends Table ? Record<string, SqlValue[][]> : { [T in Table]?: SqlValue[][] };
}

/** A group (one origin's transaction) still incomplete once its stamp is older than the retention window. */
export interface IncompleteGroupEvent {
  peerId: number;
  /** Its sequences, first..last. */
  first: number;
  last: number;
  /** Parts held here (the rest never arrived). */
  parts: number;
  /** Its stamp (hybrid logical clock). */
  patchedAt: number;
}

/**
 * A merged row parked (it breaks a constraint of its table, so `T` does not show it) or released
 * (shown now). Emitted after COMMIT, once per row and commit.
 */
export interface ParkedEvent {
  table: string;
  /** Its primary key, column name to value. */
  key: Record<string, SqlValue>;
  reason: ParkReason;
  /** The column, CHECK expression, unique index columns or parent table concerned. */
  detail: string;
  /** False: parked now. True: released (shown in `T` now); `reason` is the one it was parked for. */
  released: boolean;
}

/**
 * Rows of a table that differ from the merge of their patches, found by the scrub of heartbeat
 * rounds (scrub.ts): one event per table and kind of difference each round that finds some.
 */
export interface DivergenceEvent {
  table: string;
  /** `changed`: a value differs; `missing`: a row with patches is not in the table (nor parked); `shown-parked`: a parked row is in the table. */
  kind: DivergenceKind;
  /** Their primary keys, column name to value, in key order. */
  keys: Record<string, SqlValue>[];
  /** The first and last of those keys. */
  range: { from: Record<string, SqlValue>; to: Record<string, SqlValue> };
  /** True when they were rebuilt from their patches already (`repair: "rebuild"`). */
  repaired: boolean;
}

export interface ReplicaEvents {
  parked: ParkedEvent;
  divergence: DivergenceEvent;
  merge: MergeEvent;
  incomplete_group: IncompleteGroupEvent;
  stale: StaleReplicaError;
  identity_conflict: IdentityConflictError;
}

export type ReplicaEvent = keyof ReplicaEvents;

export class Events {
  private readonly listeners = new Map<ReplicaEvent, Set<(e: never) => void>>();

  constructor(private readonly logger: Logger | undefined) {}

  on<E extends ReplicaEvent>(event: E, listener: (e: ReplicaEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as (e: never) => void;
    set.add(l);
    return () => void set!.delete(l);
  }

  has(event: ReplicaEvent): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<E extends ReplicaEvent>(event: E, payload: ReplicaEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of set) {
      try {
        (l as (e: ReplicaEvents[E]) => void)(payload);
      } catch (err) {
        this.logger?.warn(`replic: ${event} listener threw`, err);
      }
    }
  }
}
