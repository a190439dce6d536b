/**
 * Decoding of wire messages. Bounds are checked before each read, counts are bounded by the
 * bytes present, sizes are capped, text must be valid UTF-8, and anything left over is an error.
 * It returns plain data; the caller matches names against the local schema.
 */
import type { SqlValue } from "../driver.js";
import { DecodeError } from "../errors.js";
import { crc32, Reader } from "./bytes.js";
import {
  ALL_FLAGS,
  DEFAULT_LIMITS,
  FORM_DELTA,
  FORM_FULL,
  KIND_HEADS_REQUEST,
  KIND_HEARTBEAT,
  KIND_PATCHES,
  KIND_REQUEST,
  MAX_COLUMNS,
  MAX_HEADS,
  MAX_NAME_BYTES,
  MAX_TABLES,
  NEXT_SEQ,
  SAME_COLUMNS,
  SAME_PEER,
  SAME_TABLE,
  TS_BACKWARDS,
  DEFAULT_MAX_GROUP_PATCHES,
  WIRE_MAGIC,
  WIRE_VERSION,
  WIRE_VERSION_1,
  WIRE_VERSION_2,
  type DecodeLimits,
  type HeartbeatMessage,
  type PatchesMessage,
  type PeerHead,
  type SeqRange,
  type WireMessage,
  type WireGroup,
  type WirePatch,
  type WireTable,
} from "./types.js";

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
  if (version !== WIRE_VERSION && version !== WIRE_VERSION_2 && version !== WIRE_VERSION_1) r.fail(`unsupported wire version ${version}`, 1);
  const kind = r.byte();
  let msg: WireMessage;
  switch (kind) {
    case KIND_PATCHES:
      msg = decodePatches(r, limits);
      // Version 2 on: the group section follows the patches (version 1 has none: trailing bytes).
      if (version >= WIRE_VERSION_2) msg.groups = decodeGroups(r, msg.patches, limits.maxGroupPatches ?? DEFAULT_MAX_GROUP_PATCHES);
      break;
    case KIND_HEARTBEAT: {
      const clock = r.varint();
      let form: HeartbeatMessage["form"];
      let digest: string | undefined;
      if (version === WIRE_VERSION) {
        const f = r.byte();
        if (f !== FORM_FULL && f !== FORM_DELTA) r.fail(`unknown heartbeat form ${f}`, r.pos - 1);
        form = f === FORM_DELTA ? "delta" : "full";
        digest = readDigest(r);
      }
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
      const hb: HeartbeatMessage = { kind: "heartbeat", clock, heads };
      if (form) {
        hb.form = form;
        hb.digest = digest!;
      }
      // The optional schema section (a heartbeat without it comes from an older build).
      if (r.pos < body.length) {
        const version = r.varint();
        const at = r.pos;
        const hash = r.varint();
        if (hash > 0xffffffff) r.fail("schema hash is not a uint32", at);
        hb.schema = { version, hash };
      }
      msg = hb;
      break;
    }
    case KIND_REQUEST: {
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
    case KIND_HEADS_REQUEST:
      // Version 3 only; before it, kind 4 was unknown.
      if (version !== WIRE_VERSION) r.fail(`unknown message kind ${kind}`, 2);
      msg = { kind: "heads-request" };
      break;
    default:
      return r.fail(`unknown message kind ${kind}`, 2);
  }
  if (r.pos !== body.length) r.fail("trailing bytes after message");
  return msg;
}

/** Eight bytes, little-endian, as 16 hex digits. */
function readDigest(r: Reader): string {
  const at = r.pos;
  r.skip(8);
  let hex = "";
  for (let i = 7; i >= 0; i--) hex += r.buf[at + i]!.toString(16).padStart(2, "0");
  return hex;
}

/** The version byte of a message that decoded (1, 2 or 3). */
export function wireVersionOf(bytes: Uint8Array): number {
  return bytes[1]!;
}

/**
 * The group section: at least one group, each of two or more sequences and at most
 * `maxGroupPatches`, groups of one origin disjoint and listed in order, every group holding at
 * least one patch of the message, and all of a group's patches stamped alike. Anything else is a
 * message whose parts disagree: refused whole. Each patch in a group is pointed at it.
 */
function decodeGroups(r: Reader, patches: readonly WirePatch[], maxGroupPatches: number): WireGroup[] {
  const n = r.count(patches.length, 3, "groups");
  if (n === 0) r.fail("version 2 patches message without groups");
  const groups: WireGroup[] = new Array(n);
  const lastOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const peerId = uint32(r);
    const first = r.varint();
    const span = r.varint();
    const last = first + span;
    if (first < 1 || span < 1 || last > Number.MAX_SAFE_INTEGER) r.fail("group range out of range", at);
    if (span + 1 > maxGroupPatches) r.fail(`group of ${span + 1} patches exceeds the ${maxGroupPatches}-patch limit`, at);
    const prev = lastOf.get(peerId);
    if (prev !== undefined && first <= prev) r.fail("groups of one origin overlap or are out of order", at);
    lastOf.set(peerId, last);
    groups[i] = { peerId, first, last };
  }
  // Each group's stamp: every patch inside it must carry the same one.
  const stamp = new Map<WireGroup, number>();
  const byPeer = new Map<number, WireGroup[]>();
  for (const g of groups) {
    let list = byPeer.get(g.peerId);
    if (!list) byPeer.set(g.peerId, (list = []));
    list.push(g);
  }
  let g: WireGroup | undefined; // the last group found: its patches usually come together
  let ts = 0;
  for (const p of patches) {
    if (!(g && g.peerId === p.peerId && p.seq >= g.first && p.seq <= g.last)) {
      g = groupOf(byPeer.get(p.peerId), p.seq);
      if (g === undefined) continue;
      const known = stamp.get(g);
      if (known === undefined) stamp.set(g, p.patchedAt);
      ts = known ?? p.patchedAt;
    }
    if (ts !== p.patchedAt) r.fail(`patches of group ${g.peerId}.${g.first}-${g.last} carry different stamps`);
    p.group = g;
  }
  if (stamp.size !== groups.length) r.fail("a group holds no patch of the message");
  return groups;
}

/** The group of `seq` among one origin's groups (sorted, disjoint), or undefined. */
export function groupOf(groups: readonly WireGroup[] | undefined, seq: number): WireGroup | undefined {
  if (groups === undefined) return undefined;
  let lo = 0;
  let hi = groups.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const g = groups[mid]!;
    if (seq < g.first) hi = mid - 1;
    else if (seq > g.last) lo = mid + 1;
    else return g;
  }
  return undefined;
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
    patches[i] = { table, peerId, seq, patchedAt: ts, columns: cols, values, group: undefined };
  }
  return { kind: "patches", tables, patches };
}

