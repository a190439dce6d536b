/**
 * Wire format v3 (v2 and v1 are subsets), the shapes: what a decoded message holds (see docs/protocol.md).
 * Names in it come from the wire: match them against the local schema, never splice them into SQL.
 */
import type { SqlValue } from "../driver.js";

export const WIRE_MAGIC = 0x72; // "r"
/** The newest version this build writes and reads: heartbeats as deltas, heads requests. */
export const WIRE_VERSION = 3;
/** The version of group patches (and of builds before heads deltas). */
export const WIRE_VERSION_2 = 2;
/** The version of builds before group patches: no group section, read by every build. */
export const WIRE_VERSION_1 = 1;

// Message kinds (third byte).
export const KIND_PATCHES = 1;
export const KIND_HEARTBEAT = 2;
export const KIND_REQUEST = 3;
/** Version 3 only: "send me your full heads" (the answer is a full heartbeat). */
export const KIND_HEADS_REQUEST = 4;

// Heartbeat forms (version 3).
export const FORM_FULL = 0;
export const FORM_DELTA = 1;

// Value tags.
export const TAG_NULL = 0;
export const TAG_POS_INT = 1; // varint v, 0 <= v <= 2^53-1
export const TAG_NEG_INT = 2; // varint (-v - 1)
export const TAG_BIGINT = 3; // 8 bytes little-endian two's complement
export const TAG_FLOAT = 4; // 8 bytes little-endian IEEE 754
export const TAG_TEXT = 5; // varint byte length + UTF-8
export const TAG_BLOB = 6; // varint byte length + bytes

// Patch header flags: repeated fields are elided, so a run of writes from one peer costs little.
export const SAME_TABLE = 1;
export const SAME_PEER = 2;
export const NEXT_SEQ = 4; // seq = previous seq + 1
export const SAME_COLUMNS = 8; // same column list as the previous patch
export const TS_BACKWARDS = 16; // timestamp delta to the previous patch is negative
export const ALL_FLAGS = 31;

export interface WireTable {
  name: string;
  columns: string[];
}

export interface WirePatch {
  /** Index into the message's table list. */
  table: number;
  peerId: number;
  seq: number;
  patchedAt: number;
  /** Indexes into that table's column list: the columns this patch sets (primary key included). */
  columns: number[];
  values: SqlValue[];
  /** Set by the decoder (v2 on) when the message puts the patch in a group; encoders read `groups`. */
  group?: WireGroup;
}

/**
 * A group: the patches of one origin's transaction, sequences `first..last` (at least two), all
 * stamped alike. Receivers make a group visible all at once or not at all.
 */
export interface WireGroup {
  peerId: number;
  first: number;
  last: number;
}

export interface PatchesMessage {
  kind: "patches";
  tables: WireTable[];
  patches: WirePatch[];
  /** The groups the patches belong to (v2); a patch in none is a group of its own. */
  groups?: WireGroup[];
}

export interface PeerHead {
  peerId: number;
  /** Highest sequence such that 1..contiguous are all held. */
  contiguous: number;
  /** Highest sequence held at all. */
  highest: number;
  /** Lowest sequence still retained (older ones were garbage-collected); 1 when nothing was. */
  retainedFrom: number;
}

/** A sender's schema: applied migrations and a CRC-32 of their texts (schema-version.ts). */
export interface SchemaVersion {
  version: number;
  hash: number;
}

export interface HeartbeatMessage {
  kind: "heartbeat";
  /** Sender's hybrid logical clock. */
  clock: number;
  heads: PeerHead[];
  /** Sender's schema version (absent from heartbeats of builds before it was added). */
  schema?: SchemaVersion;
  /**
   * Version 3: "full" (heads are all the sender's heads) or "delta" (only heads changed since
   * the sender's previous heartbeat to this receiver; a head with highest 0 removes that origin).
   */
  form?: "full" | "delta";
  /** Version 3: the digest of all the sender's heads (heads-digest.ts), 16 hex digits. */
  digest?: string;
}

/** Version 3: asks the receiver for a full heartbeat (its delta did not match). */
export interface HeadsRequestMessage {
  kind: "heads-request";
}

export interface SeqRange {
  peerId: number;
  from: number;
  to: number;
}

export interface RequestMessage {
  kind: "request";
  ranges: SeqRange[];
}

export type WireMessage = PatchesMessage | HeartbeatMessage | RequestMessage | HeadsRequestMessage;

export interface DecodeLimits {
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** Most patches in one message. */
  maxPatches: number;
  /** Largest group a message may announce (patches of one transaction). */
  maxGroupPatches?: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxPatches: 1_000_000,
};

/** Default largest group written or accepted: a 2-million-row transaction. */
export const DEFAULT_MAX_GROUP_PATCHES = 2_000_000;

export const MAX_TABLES = 10_000;
export const MAX_COLUMNS = 2_000; // SQLite's default SQLITE_MAX_COLUMN
export const MAX_NAME_BYTES = 4_096;
export const MAX_HEADS = 1_000_000;

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** True when `v` is an int64 a bigint may carry on the wire. */
export function isInt64(v: bigint): boolean {
  return v >= MIN_INT64 && v <= MAX_INT64;
}
