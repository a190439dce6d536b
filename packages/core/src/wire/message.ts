/**
 * The friendly form of a message, for tools and tests: table names and column→value records
 * instead of indexes. Not used on the hot path.
 */
import type { SqlValue } from "../driver.js";
import { decodeWire } from "./decoder.js";
import { encodeWire } from "./encoder.js";
import { WIRE_VERSION, WIRE_VERSION_2, WIRE_VERSION_1, type DecodeLimits, type HeadsRequestMessage, type HeartbeatMessage, type RequestMessage, type WireGroup, type WireMessage, type WirePatch, type WireTable } from "./types.js";

export interface Patch {
  table: string;
  peerId: number;
  seq: number;
  patchedAt: number;
  /** Only the columns the writer set, primary key included. */
  values: Record<string, SqlValue>;
}

export type Message =
  | { kind: "patches"; patches: Patch[]; groups?: WireGroup[] }
  | HeartbeatMessage
  | RequestMessage
  | HeadsRequestMessage;

/**
 * A message as plain data, exactly as docs/protocol.md shows it: the public `decodeWire`. The
 * decoder's own form also points each patch at its group (for the receive path), which the
 * group section already lists.
 */
export function decodeWirePlain(bytes: Uint8Array, limits?: DecodeLimits): WireMessage {
  const msg = decodeWire(bytes, limits);
  if (msg.kind !== "patches") return msg;
  return { ...msg, patches: msg.patches.map(({ table, peerId, seq, patchedAt, columns, values }) => ({ table, peerId, seq, patchedAt, columns, values })) };
}

export function decodeMessage(bytes: Uint8Array, limits?: DecodeLimits): Message {
  const msg = decodeWire(bytes, limits);
  if (msg.kind !== "patches") return msg;
  return {
    kind: "patches",
    ...(msg.groups ? { groups: msg.groups } : {}),
    patches: msg.patches.map((p) => {
      const t = msg.tables[p.table]!;
      const values: Record<string, SqlValue> = Object.create(null);
      p.columns.forEach((ci, i) => (values[t.columns[ci]!] = p.values[i]!));
      return { table: t.name, peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, values };
    }),
  };
}

export function encodeMessage(msg: Message): Uint8Array {
  // Version 3 forms (a heartbeat with a form, a heads request) exist only in version 3.
  if (msg.kind === "heads-request" || (msg.kind === "heartbeat" && msg.form !== undefined)) return encodeWire(msg, WIRE_VERSION);
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
  const groups = msg.groups !== undefined && msg.groups.length > 0 ? msg.groups : undefined;
  return encodeWire({ kind: "patches", tables, patches, ...(groups ? { groups } : {}) }, groups ? WIRE_VERSION_2 : WIRE_VERSION_1);
}

