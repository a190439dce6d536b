// The encoder checks every integer field: a value out of range is an INVALID_MESSAGE error that
// names the field and the value, never a silently different message; the edges still encode.
import { describe, expect, it } from "vitest";
import { decodeWire } from "../../src/wire/decoder.js";
import { encodeWire, PatchesEncoder } from "../../src/wire/encoder.js";
import type { WireMessage } from "../../src/wire/types.js";

const MAX_U32 = 0xffffffff;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

function refusal(msg: () => unknown): string {
  try {
    msg();
  } catch (e) {
    const err = e as { code?: string; message: string };
    return `${err.code}: ${err.message}`;
  }
  return "encoded";
}
const heartbeat = (head: Partial<{ peerId: number; contiguous: number; highest: number; retainedFrom: number }>, extra: Partial<WireMessage & { kind: "heartbeat" }> = {}) =>
  encodeWire({ kind: "heartbeat", clock: 5, heads: [{ peerId: 1, contiguous: 2, highest: 4, retainedFrom: 1, ...head }], ...extra } as WireMessage);
const request = (r: Partial<{ peerId: number; from: number; to: number }>) => encodeWire({ kind: "request", ranges: [{ peerId: 1, from: 1, to: 3, ...r }] });
const bad = (what: string, v: unknown) => `INVALID_MESSAGE: cannot encode ${what} ${String(v)}: not an integer in range`;

describe("wire encoder: integer fields", () => {
  it("heartbeat: peer ids are 32-bit unsigned integers", () => {
    for (const v of [-1, 1.5, MAX_U32 + 1, Number.NaN]) expect(refusal(() => heartbeat({ peerId: v }))).toBe(bad("peer id", v));
    for (const v of [0, MAX_U32]) expect((decodeWire(heartbeat({ peerId: v })) as { heads: { peerId: number }[] }).heads[0]!.peerId).toBe(v);
  });

  it("heartbeat: clock and sequences are safe integers, highest at least contiguous", () => {
    expect(refusal(() => heartbeat({}, { clock: -1 }))).toBe(bad("clock", -1));
    expect(refusal(() => heartbeat({}, { clock: MAX_SEQ + 1 }))).toBe(bad("clock", MAX_SEQ + 1));
    expect(refusal(() => heartbeat({ contiguous: -1 }))).toBe(bad("sequence", -1));
    expect(refusal(() => heartbeat({ contiguous: 0.5 }))).toBe(bad("sequence", 0.5));
    expect(refusal(() => heartbeat({ contiguous: 5, highest: 4 }))).toBe(bad("sequence", 4));
    expect(refusal(() => heartbeat({ retainedFrom: -2 }))).toBe(bad("sequence", -2));
    expect(refusal(() => heartbeat({ highest: MAX_SEQ + 2 }))).toBe(bad("sequence", MAX_SEQ + 2));
    const edge = decodeWire(heartbeat({ contiguous: 0, highest: MAX_SEQ, retainedFrom: 0 }, { clock: 0 })) as { clock: number; heads: { highest: number; contiguous: number }[] };
    expect(edge.clock).toBe(0);
    expect(edge.heads[0]).toMatchObject({ contiguous: 0, highest: MAX_SEQ });
    expect((decodeWire(heartbeat({ contiguous: 4, highest: 4 })) as { heads: { highest: number }[] }).heads[0]!.highest).toBe(4);
  });

  it("heartbeat: the schema section's version is a safe integer and its hash 32-bit", () => {
    expect(refusal(() => heartbeat({}, { schema: { version: -1, hash: 1 } }))).toBe(bad("schema version", -1));
    expect(refusal(() => heartbeat({}, { schema: { version: 1, hash: MAX_U32 + 1 } }))).toBe(bad("schema hash", MAX_U32 + 1));
    expect(refusal(() => heartbeat({}, { schema: { version: 1, hash: -1 } }))).toBe(bad("schema hash", -1));
    expect((decodeWire(heartbeat({}, { schema: { version: 0, hash: MAX_U32 } })) as { schema: unknown }).schema).toEqual({ version: 0, hash: MAX_U32 });
  });

  it("request: a range is 1 ≤ from ≤ to of a 32-bit peer id", () => {
    expect(refusal(() => request({ peerId: -1 }))).toBe(bad("peer id", -1));
    expect(refusal(() => request({ from: 0 }))).toBe(bad("sequence", 0));
    expect(refusal(() => request({ from: 5, to: 4 }))).toBe(bad("sequence", 4));
    expect(refusal(() => request({ to: MAX_SEQ + 1 }))).toBe(bad("sequence", MAX_SEQ + 1));
    expect((decodeWire(request({ from: 7, to: 7 })) as { ranges: unknown[] }).ranges).toEqual([{ peerId: 1, from: 7, to: 7 }]);
  });

  it("patches: peer id, sequence (from 1) and timestamp (from 0) are checked before anything is written", () => {
    const e = new PatchesEncoder();
    const t = e.addTable("items", ["id", "v"]);
    expect(refusal(() => e.add(t, -1, 1, 0, [0], [1]))).toBe(bad("peer id", -1));
    expect(refusal(() => e.add(t, MAX_U32 + 1, 1, 0, [0], [1]))).toBe(bad("peer id", MAX_U32 + 1));
    expect(refusal(() => e.add(t, 1, 0, 0, [0], [1]))).toBe(bad("sequence", 0));
    expect(refusal(() => e.add(t, 1, 1.5, 0, [0], [1]))).toBe(bad("sequence", 1.5));
    expect(refusal(() => e.add(t, 1, 1, -1, [0], [1]))).toBe(bad("timestamp", -1));
    expect(refusal(() => e.add(t, 1, 1, MAX_SEQ + 1, [0], [1]))).toBe(bad("timestamp", MAX_SEQ + 1));
    expect(e.count).toBe(0);
    e.add(t, MAX_U32, MAX_SEQ, 0, [0, 1], [1, "a"]);
    const m = decodeWire(e.finish()) as { patches: { peerId: number; seq: number; patchedAt: number }[] };
    expect(m.patches).toHaveLength(1);
    expect(m.patches[0]).toMatchObject({ peerId: MAX_U32, seq: MAX_SEQ, patchedAt: 0 });
  });

  it("bytesBound is never below the finished message's length", () => {
    const e = new PatchesEncoder();
    const t = e.addTable("items", ["id", "name", "blob"]);
    expect(e.bytesBound).toBeGreaterThanOrEqual(e.finish().length);
    for (let i = 1; i <= 50; i++) {
      e.add(t, 70_000 + (i % 3), 1_000_000 + i, 1_800_000_000_000_000 - i * 7919, i % 2 ? [0, 1] : [0, 2], i % 2 ? [i, "x".repeat(i)] : [i, new Uint8Array(i)]);
      const bound = e.bytesBound;
      const len = e.finish().length;
      expect(bound).toBeGreaterThanOrEqual(len);
      expect(bound - len).toBeLessThanOrEqual(32);
    }
  });
});
