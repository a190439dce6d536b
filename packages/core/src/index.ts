/**
 * @replic/core: the runtime-agnostic engine. No runtime module, no SQLite binding, no dependency:
 * adapters hand it a SqliteDriver, transports hand it bytes. See docs/design.md for the rooms.
 */
export type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
export { wellFormed } from "./driver.js";
export {
  ReplicError,
  SchemaError,
  ValidationError,
  DecodeError,
  TimeoutError,
  StaleReplicaError,
  IdentityConflictError,
  DatabaseLockedError,
  isReplicError,
  type ReplicErrorCode,
} from "./errors.js";
export {
  prometheusText,
  escapeLabelValue,
  escapeHelp,
  formatValue,
  isMetricName,
  isLabelName,
  PROMETHEUS_CONTENT_TYPE,
  type MetricFamily,
  type MetricSample,
  type HistogramSample,
  type MetricLabels,
} from "./prometheus-text.js";
export { Histogram, DEFAULT_BUCKETS } from "./metrics.js";
export { HybridLogicalClock, timestampFromMs, msFromTimestamp } from "./clock.js";
export { crc32 } from "./wire/bytes.js";
export { encodeWire, PatchesEncoder } from "./wire/encoder.js";
// The public decodeWire is the plain form (wire/message.ts); the receive path uses the decoder's own.
export { decodeMessage, decodeWirePlain as decodeWire, encodeMessage, type Message, type Patch } from "./wire/message.js";
export {
  WIRE_VERSION,
  DEFAULT_LIMITS,
  type WireMessage,
  type DecodeLimits,
  type PeerHead,
  type SeqRange,
  type PatchesMessage,
  type HeartbeatMessage,
  type SchemaVersion,
  type RequestMessage,
  type HeadsRequestMessage,
} from "./wire/types.js";
export { patchesDdl, patchesDdlFromColumns, type ColumnInfo, type TableSchema } from "./schema.js";
export { Replica } from "./replica.js";
export { DEFAULT_ADOPT_BATCH, type AdoptOptions, type AdoptProgress } from "./adoption.js";
export { assignNewPeerId } from "./bookkeeping.js";
export { OutOfScopeError, sameScope, type Scope } from "./scope.js";
export { parseToken, formatToken } from "./token.js";
export type { ReplicaOptions, Logger } from "./options.js";
export type { ReplicaStatus, OriginStatus, PeerStatus } from "./status.js";
export type { DivergenceEvent, MergeEvent, ParkedEvent, ReplicaEvent, ReplicaEvents } from "./events.js";
export { RowRecompute, openRowRecompute, type DivergenceKind, type RowDifference, type RecomputePage } from "./row-recompute.js";
export { DEFAULT_REBUILD_BATCH, DEFAULT_REBUILD_KEYS, type RebuildOptions, type RebuildReport } from "./rebuild.js";
export type { DivergentCount } from "./scrub.js";
export type { AnyTables, TableName, ColumnName, KeyColumns, UpsertRow } from "./typed-rows.js";
export type { ParkedRow, ParkedCount, ParkReason } from "./parked-rows.js";
export { watch, tablesRead, sameRows, type Watch, type WatchOptions, type WatchSource, type WatchableReplica, type Row } from "./watch.js";

import type { SqliteDriver } from "./driver.js";
import type { ReplicaOptions } from "./options.js";
import { Replica } from "./replica.js";
import type { AnyTables, KeyColumns } from "./typed-rows.js";
import { attachReader, watchableDriver } from "./watch.js";

/**
 * Opens a replica on a driver. Adapters wrap this as `openReplica(nativeDb, options)`. `DB`
 * (and `Keys`) type its rows, types only (docs/typed-rows.md).
 */
export function createReplica<DB extends object = AnyTables, Keys extends KeyColumns<DB> = {}>(driver: SqliteDriver, options?: ReplicaOptions): Replica<DB, Keys> {
  // watch(replica, ...) reads through the replica's own connection, until the replica closes.
  const { driver: watched, reader } = watchableDriver(driver);
  let replica: Replica<DB, Keys>;
  try {
    replica = new Replica<DB, Keys>(watched, options);
  } catch (err) {
    // A replica that fails to open keeps none of the statements it prepared: on WASM an
    // unfinalized statement keeps the database's memory (and file) after the caller closes it.
    watched.release?.();
    throw err;
  }
  attachReader(replica, reader);
  return replica;
}
export {
  readYourWrites,
  withReadYourWrites,
  tokenFromCookie,
  TOKEN_HEADER,
  TOKEN_COOKIE,
  type ReadYourWritesOptions,
} from "./http.js";
