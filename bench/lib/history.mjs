// Synthetic patch histories, encoded as replic wire messages with @replic/core's encoder.
//
// A history is what one or more remote peers wrote: patch k of origin p carries a full row of
// the benchmark table, consecutive sequence numbers per origin (1, 2, 3, ...), and hybrid logical
// clock timestamps like a busy writer's (about 100 writes per millisecond, counter in the low
// 11 bits). Messages are bounded: `batch` patches each, like a transaction or a catch-up batch.
import { COLUMNS, TABLE, row } from "./data.mjs";

const COUNTER_SPAN = 2048; // low 11 bits of a replic timestamp count events within a millisecond
// Recent, so the history is inside replic's retention window (default 7 days) and not collected.
export const HISTORY_START_MS = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;

/** The replic timestamp of the k-th write (0-based) of a writer doing ~100 writes per ms. */
export function patchedAt(k, startMs = HISTORY_START_MS) {
  return (startMs + Math.floor(k / 100)) * COUNTER_SPAN + (k % 100);
}

/** A patch in the driving-API shape: { table, peerId, seq, patchedAt, values: {column: value} }. */
export function patch(origin, seq, rowId, k) {
  return { table: TABLE, peerId: origin, seq, patchedAt: patchedAt(k), values: row(rowId) };
}

/**
 * Encodes a patches message with whichever encoder the core exports:
 * `encodeMessage({kind: "patches", patches: [{table, peerId, seq, patchedAt, values: {...}}]})`
 * or the lower-level `encodeWire({kind, tables, patches: [{table: index, columns, values: [...]}]})`.
 */
export function makeEncoder(core) {
  if (typeof core.encodeMessage === "function") {
    let mode = null;
    return (patches) => {
      if (mode === null) {
        try {
          const bytes = core.encodeMessage({ kind: "patches", patches });
          mode = "objects";
          return bytes;
        } catch (e) {
          if (typeof core.encodeWire !== "function") throw e;
          mode = "wire";
        }
      }
      if (mode === "objects") return core.encodeMessage({ kind: "patches", patches });
      return encodeViaWire(core, patches);
    };
  }
  if (typeof core.encodeWire === "function") return (patches) => encodeViaWire(core, patches);
  throw new Error("@replic/core exports neither encodeMessage nor encodeWire");
}

const ALL_COLUMN_INDEXES = COLUMNS.map((_, i) => i);

function encodeViaWire(core, patches) {
  return core.encodeWire({
    kind: "patches",
    tables: [{ name: TABLE, columns: COLUMNS }],
    patches: patches.map((p) => ({
      table: 0,
      peerId: p.peerId,
      seq: p.seq,
      patchedAt: p.patchedAt,
      columns: ALL_COLUMN_INDEXES,
      values: COLUMNS.map((c) => p.values[c] ?? null),
    })),
  });
}

/** The same message as JSON text (the comparison format of the wire-size workload). */
export function jsonMessage(patches) {
  return JSON.stringify({ kind: "patches", patches });
}

/**
 * A single origin's history: `count` patches, seq 1..count, row ids firstRow.., in messages of
 * `batch` patches. Returns { messages: Uint8Array[], bytes, count }.
 */
export function singleOriginHistory(core, { origin, count, batch, firstRow = 1 }) {
  const encode = makeEncoder(core);
  const messages = [];
  let bytes = 0;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const patches = new Array(n);
    for (let k = 0; k < n; k++) patches[k] = patch(origin, start + k + 1, firstRow + start + k, start + k);
    const m = encode(patches);
    messages.push(m);
    bytes += m.length;
  }
  return { messages, bytes, count };
}

/** Deterministic PRNG (mulberry32) so "random" choices are the same on every run and binding. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
