/**
 * @replic/core: the runtime-agnostic engine. No runtime module, no SQLite binding, no dependency:
 * adapters hand it a SqliteDriver, transports hand it bytes.
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
  type ReplicErrorCode,
} from "./errors.js";
export { HybridLogicalClock, timestampFromMs, msFromTimestamp } from "./clock.js";
export {
  decodeMessage,
  encodeMessage,
  decodeWire,
  encodeWire,
  crc32,
  WIRE_VERSION,
  DEFAULT_LIMITS,
  type Message,
  type Patch,
  type WireMessage,
  type DecodeLimits,
  type PeerHead,
  type SeqRange,
} from "./codec.js";
export { patchesDdl, patchesDdlFromColumns, type ColumnInfo, type TableSchema } from "./schema.js";
export {
  Replica,
  parseToken,
  assignNewPeerId,
  type ReplicaOptions,
  type ReplicaStatus,
  type OriginStatus,
  type PeerStatus,
  type MergeEvent,
  type Logger,
} from "./replica.js";

import type { SqliteDriver } from "./driver.js";
import { Replica, type ReplicaOptions } from "./replica.js";

/** Opens a replica on a driver. Adapters wrap this as `openReplica(nativeDb, options)`. */
export function createReplica(driver: SqliteDriver, options?: ReplicaOptions): Replica {
  return new Replica(driver, options);
}
export {
  readYourWrites,
  withReadYourWrites,
  tokenFromCookie,
  TOKEN_HEADER,
  TOKEN_COOKIE,
  type ReadYourWritesOptions,
} from "./http.js";
