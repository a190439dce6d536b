/**
 * Encoding of wire messages. Patches are encoded incrementally (PatchesEncoder), so a writer
 * encodes them as it makes them. Integer fields are checked: a bad one is an error, never a
 * silently different message.
 */
import type { SqlValue } from "../driver.js";
import { ReplicError } from "../errors.js";
import { Writer } from "./bytes.js";
import {
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
  type PatchesMessage,
  type WireMessage,
} from "./types.js";

function header(w: Writer, kind: number): void {
  w.byte(WIRE_MAGIC);
  w.byte(WIRE_VERSION);
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

export function encodeWire(msg: WireMessage): Uint8Array {
  switch (msg.kind) {
    case "patches":
      return encodePatches(msg);
    case "heartbeat": {
      const w = new Writer(16 + msg.heads.length * 16);
      header(w, KIND_HEARTBEAT);
      checkSeq("clock", msg.clock, 0);
      w.varint(msg.clock);
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
    case "request": {
      const w = new Writer(16 + msg.ranges.length * 12);
      header(w, KIND_REQUEST);
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

function encodePatches(msg: PatchesMessage): Uint8Array {
  const e = new PatchesEncoder(msg.patches.length * 48);
  for (const t of msg.tables) e.addTable(t.name, t.columns);
  for (const p of msg.patches) e.add(p.table, p.peerId, p.seq, p.patchedAt, p.columns, p.values);
  return e.finish();
}

/**
 * Builds one patches message incrementally, so a writer can encode patches as it makes them
 * instead of keeping them all until commit. Tables are declared before the patches that use them.
 */
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

  finish(): Uint8Array {
    const head = new Writer(this.tables.pos + 32);
    header(head, KIND_PATCHES);
    head.varint(this.tableCount);
    head.reserve(this.tables.pos);
    head.buf.set(this.tables.buf.subarray(0, this.tables.pos), head.pos);
    head.pos += this.tables.pos;
    head.varint(this.count);
    head.reserve(this.body.pos);
    head.buf.set(this.body.buf.subarray(0, this.body.pos), head.pos);
    head.pos += this.body.pos;
    return head.finish();
  }
}

/** Same numbers in the same order (identity first: column lists are usually shared arrays). */
export function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

