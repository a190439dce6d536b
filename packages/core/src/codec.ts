/**
 * Wire format v1: compact, versioned binary messages (see docs/protocol.md).
 * The decoder treats every byte as hostile: bounds are checked before each read, sizes are
 * capped, text must be valid UTF-8, and anything left over is an error. It returns plain data;
 * names in it are matched against the local schema by the caller, never spliced into SQL.
 */
import type { SqlValue } from "./driver.js";
import { DecodeError } from "./errors.js";

export const WIRE_MAGIC = 0x72; // "r"
export const WIRE_VERSION = 1;

export const enum Kind {
  Patches = 1,
  Heartbeat = 2,
  Request = 3,
}

const enum Tag {
  Null = 0,
  PosInt = 1, // varint v, 0 <= v <= 2^53-1
  NegInt = 2, // varint (-v - 1)
  BigInt = 3, // 8 bytes little-endian two's complement
  Float = 4, // 8 bytes little-endian IEEE 754
  Text = 5, // varint byte length + UTF-8
  Blob = 6, // varint byte length + bytes
}

// Patch header flags: repeated fields are elided, so a run of writes from one peer costs little.
const SAME_TABLE = 1;
const SAME_PEER = 2;
const NEXT_SEQ = 4; // seq = previous seq + 1
const SAME_COLUMNS = 8; // same column list as the previous patch
const TS_BACKWARDS = 16; // timestamp delta to the previous patch is negative
const ALL_FLAGS = 31;

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
}

export interface PatchesMessage {
  kind: "patches";
  tables: WireTable[];
  patches: WirePatch[];
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

export interface HeartbeatMessage {
  kind: "heartbeat";
  /** Sender's hybrid logical clock. */
  clock: number;
  heads: PeerHead[];
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

export type WireMessage = PatchesMessage | HeartbeatMessage | RequestMessage;

export interface DecodeLimits {
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** Most patches in one message. */
  maxPatches: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxPatches: 1_000_000,
};

const MAX_TABLES = 10_000;
const MAX_COLUMNS = 2_000; // SQLite's default SQLITE_MAX_COLUMN
const MAX_NAME_BYTES = 4_096;
const MAX_HEADS = 1_000_000;

// Slicing-by-4 tables: four bytes per step instead of one.
const CRC_TABLES = (() => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  }
  return t;
})();

/** CRC-32 (IEEE) of bytes[0, end). Every message ends with it, so corruption is never applied. */
export function crc32(bytes: Uint8Array, end = bytes.length): number {
  const t = CRC_TABLES;
  let c = 0xffffffff;
  let i = 0;
  for (; i + 4 <= end; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  constructor(size = 1024) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }
  /** Unsigned varint (LEB128) of an integer in [0, 2^53). */
  varint(v: number): void {
    this.reserve(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  text(s: string): void {
    // Worst case 3 bytes per UTF-16 unit; write the length after encoding in place.
    const max = s.length * 3;
    const lenBytes = varintSize(max);
    this.reserve(8 + max); // room for the length varint too, so nothing reallocates below
    const start = this.pos + lenBytes;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start, start + max));
    const needed = varintSize(written);
    if (needed !== lenBytes) this.buf.copyWithin(this.pos + needed, start, start + written);
    this.varint(written);
    this.pos += written;
  }
  float(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  bigint(v: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }
  value(v: SqlValue): void {
    if (v === null) this.byte(Tag.Null);
    else if (typeof v === "number") {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        if (v >= 0) {
          this.byte(Tag.PosInt);
          this.varint(v);
        } else {
          this.byte(Tag.NegInt);
          this.varint(-v - 1);
        }
      } else {
        this.byte(Tag.Float);
        this.float(v);
      }
    } else if (typeof v === "string") {
      this.byte(Tag.Text);
      this.text(v);
    } else if (typeof v === "bigint") {
      if (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG) this.value(Number(v));
      else {
        this.byte(Tag.BigInt);
        this.bigint(v);
      }
    } else {
      this.byte(Tag.Blob);
      this.bytes(v);
    }
  }
  /** Appends the CRC-32 trailer and returns the message. */
  finish(): Uint8Array {
    const crc = crc32(this.buf, this.pos);
    this.reserve(4);
    this.view.setUint32(this.pos, crc, true);
    this.pos += 4;
    return this.buf.slice(0, this.pos);
  }
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function header(w: Writer, kind: Kind): void {
  w.byte(WIRE_MAGIC);
  w.byte(WIRE_VERSION);
  w.byte(kind);
}

export function encodeWire(msg: WireMessage): Uint8Array {
  switch (msg.kind) {
    case "patches":
      return encodePatches(msg);
    case "heartbeat": {
      const w = new Writer(16 + msg.heads.length * 16);
      header(w, Kind.Heartbeat);
      w.varint(msg.clock);
      w.varint(msg.heads.length);
      for (const h of msg.heads) {
        w.varint(h.peerId);
        w.varint(h.contiguous);
        w.varint(h.highest - h.contiguous);
        w.varint(h.retainedFrom);
      }
      return w.finish();
    }
    case "request": {
      const w = new Writer(16 + msg.ranges.length * 12);
      header(w, Kind.Request);
      w.varint(msg.ranges.length);
      for (const r of msg.ranges) {
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

  /** Declares a table and the column names that patch column indexes refer to; returns its index. */
  addTable(name: string, columns: readonly string[]): number {
    const t = this.tables;
    t.text(name);
    t.varint(columns.length);
    for (const c of columns) t.text(c);
    return this.tableCount++;
  }

  add(table: number, peerId: number, seq: number, patchedAt: number, columns: number[], values: readonly SqlValue[]): void {
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
    header(head, Kind.Patches);
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

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  fail(message: string, at = this.pos): never {
    throw new DecodeError(message, at);
  }
  byte(): number {
    if (this.pos >= this.buf.length) this.fail("truncated message");
    return this.buf[this.pos++]!;
  }
  /** Unsigned varint, at most 2^53-1, in at most 8 bytes, in its shortest form. */
  varint(): number {
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) this.fail("non-canonical varint", start);
        if (result > Number.MAX_SAFE_INTEGER) this.fail("integer out of range", start);
        return result;
      }
      scale *= 0x80;
    }
    return this.fail("varint too long", start);
  }
  /** A count of items that each take at least `minBytes`: bounded by what is left. */
  count(max: number, minBytes: number, what: string): number {
    const at = this.pos;
    const n = this.varint();
    if (n > max) this.fail(`too many ${what}: ${n} > ${max}`, at);
    if (n * minBytes > this.buf.length - this.pos) this.fail(`truncated ${what}`, at);
    return n;
  }
  raw(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail("truncated message");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  text(maxBytes: number): string {
    const at = this.pos;
    const n = this.varint();
    if (n > maxBytes) this.fail("text too long", at);
    const bytes = this.raw(n);
    // Short ASCII (most names and many values) without the cost of a TextDecoder call.
    if (n <= 24) {
      let ascii = true;
      for (let i = 0; i < n; i++) if (bytes[i]! >= 0x80) ascii = false;
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    try {
      return textDecoder.decode(bytes);
    } catch {
      return this.fail("invalid UTF-8", at);
    }
  }
  value(): SqlValue {
    const at = this.pos;
    const tag = this.byte();
    switch (tag) {
      case Tag.Null:
        return null;
      case Tag.PosInt:
        return this.varint();
      case Tag.NegInt:
        return -this.varint() - 1;
      case Tag.BigInt: {
        this.raw(8);
        const v = this.view.getBigInt64(this.pos - 8, true);
        if (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG) this.fail("non-canonical integer", at);
        return v;
      }
      case Tag.Float: {
        this.raw(8);
        const v = this.view.getFloat64(this.pos - 8, true);
        if (Number.isNaN(v)) this.fail("NaN is not a value", at);
        return v;
      }
      case Tag.Text:
        return this.text(this.buf.length);
      case Tag.Blob: {
        const n = this.varint();
        return this.raw(n).slice();
      }
      default:
        return this.fail(`unknown value tag ${tag}`, at);
    }
  }
}

export function decodeWire(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): WireMessage {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("message is not a Uint8Array", 0);
  if (bytes.length > limits.maxMessageBytes) {
    throw new DecodeError(`message of ${bytes.length} bytes exceeds the ${limits.maxMessageBytes}-byte limit`, 0);
  }
  if (bytes.length < 7) throw new DecodeError("message too short", bytes.length);
  const body = bytes.subarray(0, bytes.length - 4);
  // Check the CRC-32 trailer first: corrupted bytes are never parsed, let alone applied.
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + body.length, 4).getUint32(0, true);
  if (trailer !== crc32(body)) throw new DecodeError("checksum mismatch: message corrupted", body.length);
  const r = new Reader(body);
  if (r.byte() !== WIRE_MAGIC) r.fail("not a replic message", 0);
  const version = r.byte();
  if (version !== WIRE_VERSION) r.fail(`unsupported wire version ${version}`, 1);
  const kind = r.byte();
  let msg: WireMessage;
  switch (kind) {
    case Kind.Patches:
      msg = decodePatches(r, limits);
      break;
    case Kind.Heartbeat: {
      const clock = r.varint();
      const n = r.count(MAX_HEADS, 4, "heads");
      const heads: PeerHead[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const at = r.pos;
        const peerId = uint32(r);
        const contiguous = r.varint();
        const highest = contiguous + r.varint();
        const retainedFrom = r.varint();
        if (highest > Number.MAX_SAFE_INTEGER) r.fail("sequence out of range", at);
        heads[i] = { peerId, contiguous, highest, retainedFrom };
      }
      msg = { kind: "heartbeat", clock, heads };
      break;
    }
    case Kind.Request: {
      const n = r.count(MAX_HEADS, 3, "ranges");
      const ranges: SeqRange[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const at = r.pos;
        const peerId = uint32(r);
        const from = r.varint();
        const to = from + r.varint();
        if (from < 1 || to > Number.MAX_SAFE_INTEGER) r.fail("sequence range out of range", at);
        ranges[i] = { peerId, from, to };
      }
      msg = { kind: "request", ranges };
      break;
    }
    default:
      return r.fail(`unknown message kind ${kind}`, 2);
  }
  if (r.pos !== body.length) r.fail("trailing bytes after message");
  return msg;
}

function uint32(r: Reader): number {
  const at = r.pos;
  const v = r.varint();
  if (v > 0xffffffff) r.fail("peer id is not a uint32", at);
  return v;
}

function decodePatches(r: Reader, limits: DecodeLimits): PatchesMessage {
  const nTables = r.count(MAX_TABLES, 2, "tables");
  const tables: WireTable[] = new Array(nTables);
  for (let t = 0; t < nTables; t++) {
    const name = r.text(MAX_NAME_BYTES);
    const nCols = r.count(MAX_COLUMNS, 1, "columns");
    const columns: string[] = new Array(nCols);
    for (let c = 0; c < nCols; c++) columns[c] = r.text(MAX_NAME_BYTES);
    if (new Set(columns).size !== columns.length) r.fail(`duplicate column name in table ${JSON.stringify(name)}`);
    tables[t] = { name, columns };
  }
  const n = r.count(limits.maxPatches, 2, "patches");
  const patches: WirePatch[] = new Array(n);
  let table = -1;
  let peerId = -1;
  let seq = 0;
  let ts = 0;
  let columns: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const flags = r.byte();
    if (flags > ALL_FLAGS) r.fail(`unknown patch flags ${flags}`, at);
    if (i === 0 && (flags & ~TS_BACKWARDS) !== 0) r.fail("first patch cannot refer to a previous one", at);
    if (!(flags & SAME_TABLE)) {
      table = r.varint();
      if (table >= nTables) r.fail(`table index ${table} out of range`, at);
    }
    if (!(flags & SAME_PEER)) {
      if (flags & NEXT_SEQ) r.fail("next-sequence flag without same-peer flag", at);
      peerId = uint32(r);
    }
    if (flags & NEXT_SEQ) seq += 1;
    else seq = r.varint();
    if (seq < 1 || seq > Number.MAX_SAFE_INTEGER) r.fail("sequence number out of range", at);
    const delta = r.varint();
    ts += flags & TS_BACKWARDS ? -delta : delta;
    if (ts < 0 || ts > Number.MAX_SAFE_INTEGER) r.fail("timestamp out of range", at);
    if (flags & SAME_COLUMNS) {
      if (!(flags & SAME_TABLE)) r.fail("same-columns flag without same-table flag", at);
    } else {
      const width = tables[table]!.columns.length;
      const k = r.count(width, 1, "patch columns");
      if (k === 0) r.fail("patch sets no column", at);
      columns = new Array(k);
      let prev = -1;
      for (let c = 0; c < k; c++) {
        const ci = r.varint();
        // Strictly increasing: no duplicates, one canonical form.
        if (ci >= width || ci <= prev) r.fail("patch column index out of order or range", at);
        columns[c] = ci;
        prev = ci;
      }
    }
    const cols = columns!;
    const values: SqlValue[] = new Array(cols.length);
    for (let c = 0; c < cols.length; c++) values[c] = r.value();
    patches[i] = { table, peerId, seq, patchedAt: ts, columns: cols, values };
  }
  return { kind: "patches", tables, patches };
}

// ---------------------------------------------------------------------------------------------
// The friendly form, for tools and tests: table names and column→value records.

export interface Patch {
  table: string;
  peerId: number;
  seq: number;
  patchedAt: number;
  /** Only the columns the writer set, primary key included. */
  values: Record<string, SqlValue>;
}

export type Message =
  | { kind: "patches"; patches: Patch[] }
  | HeartbeatMessage
  | RequestMessage;

export function decodeMessage(bytes: Uint8Array, limits?: DecodeLimits): Message {
  const msg = decodeWire(bytes, limits);
  if (msg.kind !== "patches") return msg;
  return {
    kind: "patches",
    patches: msg.patches.map((p) => {
      const t = msg.tables[p.table]!;
      const values: Record<string, SqlValue> = Object.create(null);
      p.columns.forEach((ci, i) => (values[t.columns[ci]!] = p.values[i]!));
      return { table: t.name, peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, values };
    }),
  };
}

export function encodeMessage(msg: Message): Uint8Array {
  if (msg.kind !== "patches") return encodeWire(msg);
  const tables: WireTable[] = [];
  const tableIndex = new Map<string, { index: number; columns: Map<string, number> }>();
  const patches: WirePatch[] = msg.patches.map((p) => {
    let t = tableIndex.get(p.table);
    if (!t) {
      t = { index: tables.length, columns: new Map() };
      tableIndex.set(p.table, t);
      tables.push({ name: p.table, columns: [] });
    }
    const wt = tables[t.index]!;
    const entries = Object.keys(p.values).map((name) => {
      let ci = t!.columns.get(name);
      if (ci === undefined) {
        ci = wt.columns.length;
        t!.columns.set(name, ci);
        wt.columns.push(name);
      }
      return [ci, p.values[name]!] as const;
    });
    entries.sort((a, b) => a[0] - b[0]);
    return {
      table: t.index,
      peerId: p.peerId,
      seq: p.seq,
      patchedAt: p.patchedAt,
      columns: entries.map((e) => e[0]),
      values: entries.map((e) => e[1]),
    };
  });
  return encodeWire({ kind: "patches", tables, patches });
}

/** True when `v` is an int64 a bigint may carry on the wire. */
export function isInt64(v: bigint): boolean {
  return v >= MIN_INT64 && v <= MAX_INT64;
}
