/**
 * Encoding of wire messages. Patches are encoded incrementally (PatchesEncoder), so a writer
 * encodes them as it makes them. Integer fields are checked: a bad one is an error, never a
 * silently different message.
 */
import type { SqlValue } from "../driver.js";
import { ReplicError } from "../errors.js";
import { Writer } from "./bytes.js";
import { digestOf } from "./heads-digest.js";
import {
  FORM_DELTA,
  FORM_FULL,
  KIND_HEADS_REQUEST,
  KIND_HEARTBEAT,
  KIND_PATCHES,
  KIND_REQUEST,
  NEXT_SEQ,
  SAME_COLUMNS,
  SAME_PEER,
  SAME_TABLE,
  TS_BACKWARDS,
  WIRE_MAGIC,
  WIRE_VERSION,
  WIRE_VERSION_1,
  WIRE_VERSION_2,
  type PatchesMessage,
  type WireGroup,
  type WireMessage,
} from "./types.js";

function header(w: Writer, kind: number, version: number): void {
  w.byte(WIRE_MAGIC);
  w.byte(version);
  w.byte(kind);
}

function invalid(what: string, v: unknown): never {
  throw new ReplicError("INVALID_MESSAGE", `cannot encode ${what} ${String(v)}: not an integer in range`);
}
function checkUint32(what: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) invalid(what, v);
}
function checkSeq(what: string, v: number, min: number): void {
  if (!(Number.isSafeInteger(v) && v >= min)) invalid(what, v);
}

/**
 * Encodes a message. `version` 2 tells a neighbour this build reads groups; version 1 is what
 * builds before group patches read (a patches message then goes without its groups). A patches
 * message with no group is written as version 1 either way: byte for byte what older builds wrote.
 */
export function encodeWire(msg: WireMessage, version: number = WIRE_VERSION_1): Uint8Array {
  if (version !== WIRE_VERSION_1 && version !== WIRE_VERSION_2 && version !== WIRE_VERSION) invalid("wire version", version);
  switch (msg.kind) {
    case "patches":
      return encodePatches(msg, version);
    case "heartbeat": {
      const w = new Writer(32 + msg.heads.length * 16);
      header(w, KIND_HEARTBEAT, version);
      checkSeq("clock", msg.clock, 0);
      w.varint(msg.clock);
      if (version === WIRE_VERSION) {
        // Version 3: the form, then the digest of all the sender's heads (a full one's own by default).
        if (msg.form === "delta" && msg.digest === undefined) invalid("delta heartbeat without digest", msg.digest);
        w.byte(msg.form === "delta" ? FORM_DELTA : FORM_FULL);
        writeDigest(w, msg.digest ?? digestOf(msg.heads));
      }
      w.varint(msg.heads.length);
      for (const h of msg.heads) {
        checkUint32("peer id", h.peerId);
        checkSeq("sequence", h.contiguous, 0);
        checkSeq("sequence", h.highest, h.contiguous);
        checkSeq("sequence", h.retainedFrom, 0);
        w.varint(h.peerId);
        w.varint(h.contiguous);
        w.varint(h.highest - h.contiguous);
        w.varint(h.retainedFrom);
      }
      // Optional trailing section: a decoder tells it apart by the bytes left after the heads.
      if (msg.schema) {
        checkSeq("schema version", msg.schema.version, 0);
        checkUint32("schema hash", msg.schema.hash);
        w.varint(msg.schema.version);
        w.varint(msg.schema.hash);
      }
      return w.finish();
    }
    case "heads-request": {
      if (version !== WIRE_VERSION) invalid("heads request at wire version", version);
      const w = new Writer(8);
      header(w, KIND_HEADS_REQUEST, version);
      return w.finish();
    }
    case "request": {
      const w = new Writer(16 + msg.ranges.length * 12);
      header(w, KIND_REQUEST, version);
      w.varint(msg.ranges.length);
      for (const r of msg.ranges) {
        checkUint32("peer id", r.peerId);
        checkSeq("sequence", r.from, 1);
        checkSeq("sequence", r.to, r.from);
        w.varint(r.peerId);
        w.varint(r.from);
        w.varint(r.to - r.from);
      }
      return w.finish();
    }
  }
}

function encodePatches(msg: PatchesMessage, version: number): Uint8Array {
  const e = new PatchesEncoder(msg.patches.length * 48);
  for (const t of msg.tables) e.addTable(t.name, t.columns);
  for (const p of msg.patches) e.add(p.table, p.peerId, p.seq, p.patchedAt, p.columns, p.values);
  return e.finish(version >= WIRE_VERSION_2 ? msg.groups : undefined);
}

/**
 * Builds one patches message incrementally, so a writer can encode patches as it makes them
 * instead of keeping them all until commit. Tables are declared before the patches that use them.
 */
export class PatchesEncoder {
  private readonly tables = new Writer(256);
  private readonly body: Writer;
  private tableCount = 0;
  private prevTable = -1;
  private prevPeer = -1;
  private prevSeq = -1;
  private prevTs = 0;
  private prevCols: number[] | undefined;
  /** Patches added so far. */
  count = 0;

  constructor(sizeHint = 4096) {
    this.body = new Writer(sizeHint);
  }

  /** Bytes of patch data so far (to cap message size). */
  get size(): number {
    return this.body.pos;
  }

  /** At least the length `finish()` would return now: tables, patches, header, counts and CRC. */
  get bytesBound(): number {
    return this.tables.pos + this.body.pos + 32;
  }

  /** Declares a table and the column names that patch column indexes refer to; returns its index. */
  addTable(name: string, columns: readonly string[]): number {
    const t = this.tables;
    t.text(name);
    t.varint(columns.length);
    for (const c of columns) t.text(c);
    return this.tableCount++;
  }

  add(table: number, peerId: number, seq: number, patchedAt: number, columns: number[], values: readonly SqlValue[]): void {
    checkUint32("peer id", peerId);
    checkSeq("sequence", seq, 1);
    checkSeq("timestamp", patchedAt, 0);
    const w = this.body;
    let flags = 0;
    if (table === this.prevTable) flags |= SAME_TABLE;
    if (peerId === this.prevPeer) {
      flags |= SAME_PEER;
      if (seq === this.prevSeq + 1) flags |= NEXT_SEQ;
    }
    if (this.prevCols !== undefined && flags & SAME_TABLE && sameList(columns, this.prevCols)) flags |= SAME_COLUMNS;
    // Timestamps of a batch are close together: a delta is 1-3 bytes instead of 7.
    const delta = patchedAt - this.prevTs;
    if (delta < 0) flags |= TS_BACKWARDS;
    w.byte(flags);
    if (!(flags & SAME_TABLE)) w.varint(table);
    if (!(flags & SAME_PEER)) w.varint(peerId);
    if (!(flags & NEXT_SEQ)) w.varint(seq);
    w.varint(delta < 0 ? -delta : delta);
    if (!(flags & SAME_COLUMNS)) {
      w.varint(columns.length);
      for (let i = 0; i < columns.length; i++) w.varint(columns[i]!);
    }
    for (let i = 0; i < values.length; i++) w.value(values[i]!);
    this.prevTable = table;
    this.prevPeer = peerId;
    this.prevSeq = seq;
    this.prevTs = patchedAt;
    this.prevCols = columns;
    this.count++;
  }

  /**
   * The message. With `groups` (each of at least two sequences) it is a version 2 message whose
   * group section follows the patches; without, a version 1 message.
   */
  finish(groups?: readonly WireGroup[]): Uint8Array {
    const grouped = groups !== undefined && groups.length > 0;
    const head = new Writer(this.tables.pos + 32 + (grouped ? groups.length * 16 : 0));
    header(head, KIND_PATCHES, grouped ? WIRE_VERSION_2 : WIRE_VERSION_1);
    head.varint(this.tableCount);
    head.reserve(this.tables.pos);
    head.buf.set(this.tables.buf.subarray(0, this.tables.pos), head.pos);
    head.pos += this.tables.pos;
    head.varint(this.count);
    head.reserve(this.body.pos);
    head.buf.set(this.body.buf.subarray(0, this.body.pos), head.pos);
    head.pos += this.body.pos;
    if (grouped) {
      head.varint(groups.length);
      for (const g of groups) {
        checkUint32("peer id", g.peerId);
        checkSeq("sequence", g.first, 1);
        checkSeq("sequence", g.last, g.first + 1);
        head.varint(g.peerId);
        head.varint(g.first);
        head.varint(g.last - g.first);
      }
    }
    return head.finish();
  }
}

/** A digest of 16 hex digits as 8 bytes, little-endian. */
function writeDigest(w: Writer, digest: string): void {
  if (!/^[0-9a-f]{16}$/.test(digest)) invalid("heads digest", digest);
  for (let i = 7; i >= 0; i--) w.byte(parseInt(digest.slice(i * 2, i * 2 + 2), 16));
}

/** Same numbers in the same order (identity first: column lists are usually shared arrays). */
export function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

