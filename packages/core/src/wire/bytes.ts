/**
 * Byte primitives of the wire format: CRC-32, a growable writer and a bounds-checked reader
 * (LEB128 varints, tagged values). The reader treats every byte as hostile.
 */
import type { SqlValue } from "../driver.js";
import { DecodeError } from "../errors.js";
import { TAG_BIGINT, TAG_BLOB, TAG_FLOAT, TAG_NEG_INT, TAG_NULL, TAG_POS_INT, TAG_TEXT } from "./types.js";

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
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

export class Writer {
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
    if (v === null) this.byte(TAG_NULL);
    else if (typeof v === "number") {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        if (v >= 0) {
          this.byte(TAG_POS_INT);
          this.varint(v);
        } else {
          this.byte(TAG_NEG_INT);
          this.varint(-v - 1);
        }
      } else {
        this.byte(TAG_FLOAT);
        this.float(v);
      }
    } else if (typeof v === "string") {
      this.byte(TAG_TEXT);
      this.text(v);
    } else if (typeof v === "bigint") {
      if (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG) this.value(Number(v));
      else {
        this.byte(TAG_BIGINT);
        this.bigint(v);
      }
    } else {
      this.byte(TAG_BLOB);
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

export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Text up to this many bytes is tried as ASCII first. */
const SHORT_TEXT = 32;

export class Reader {
  pos = 0;
  /** Scratch arrays of the short-ASCII path of text(), one per length (no length changes). */
  private readonly codes: number[][] = [];
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
  /** Moves past n bytes that must be there (fixed-size values are then read through the view). */
  skip(n: number): void {
    if (n > this.buf.length - this.pos) this.fail("truncated message");
    this.pos += n;
  }
  text(maxBytes: number): string {
    const at = this.pos;
    const n = this.varint();
    if (n > maxBytes) this.fail("text too long", at);
    const buf = this.buf;
    const start = this.pos;
    if (n > buf.length - start) this.fail("truncated message");
    this.pos = start + n;
    // Short ASCII (most names and many values): char codes gathered in a reused array, no view
    // of the bytes and no TextDecoder call.
    if (n <= SHORT_TEXT) {
      const codes = (this.codes[n] ??= new Array<number>(n).fill(0));
      let i = 0;
      for (; i < n; i++) {
        const b = buf[start + i]!;
        if (b >= 0x80) break;
        codes[i] = b;
      }
      if (i === n) return String.fromCharCode.apply(null, codes);
    }
    try {
      return textDecoder.decode(buf.subarray(start, start + n));
    } catch {
      return this.fail("invalid UTF-8", at);
    }
  }
  value(): SqlValue {
    const at = this.pos;
    const tag = this.byte();
    switch (tag) {
      case TAG_NULL:
        return null;
      case TAG_POS_INT:
        return this.varint();
      case TAG_NEG_INT:
        return -this.varint() - 1;
      case TAG_BIGINT: {
        this.skip(8);
        const v = this.view.getBigInt64(this.pos - 8, true);
        if (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG) this.fail("non-canonical integer", at);
        return v;
      }
      case TAG_FLOAT: {
        this.skip(8);
        const v = this.view.getFloat64(this.pos - 8, true);
        if (Number.isNaN(v)) this.fail("NaN is not a value", at);
        return v;
      }
      case TAG_TEXT:
        return this.text(this.buf.length);
      case TAG_BLOB: {
        const n = this.varint();
        if (n > this.buf.length - this.pos) this.fail("truncated message");
        this.pos += n;
        return this.buf.slice(this.pos - n, this.pos);
      }
      default:
        return this.fail(`unknown value tag ${tag}`, at);
    }
  }
}

