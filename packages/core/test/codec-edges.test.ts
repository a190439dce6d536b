/**
 * Edges of the codec that the round-trip and fuzz tests do not pin (found by mutation testing):
 * text around the lengths where its length prefix grows, varint and integer-tag boundaries, the
 * exact bytes of the compact patch header, the decoder's limits and messages, isInt64.
 */
import { describe, expect, it } from "vitest";
import { crc32, DecodeError, DEFAULT_LIMITS, decodeMessage, decodeWire, encodeMessage, encodeWire, type SqlValue } from "../src/index.js";
import { groupOf, wireVersionOf } from "../src/wire/decoder.js";
import { PatchesEncoder, sameList } from "../src/wire/encoder.js";
import { isInt64 } from "../src/wire/types.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const withCrc = (bodyHex: string): Uint8Array => {
  const body = Buffer.from(bodyHex.replace(/\s/g, ""), "hex");
  const out = Buffer.alloc(body.length + 4);
  body.copy(out);
  out.writeUInt32LE(crc32(body), body.length);
  return new Uint8Array(out);
};
const one = (values: Record<string, SqlValue>, patchedAt = 0) =>
  encodeMessage({ kind: "patches", patches: [{ table: "t", peerId: 1, seq: 1, patchedAt, values }] });
const back = (values: Record<string, SqlValue>, patchedAt = 0) => {
  const m = decodeMessage(one(values, patchedAt));
  if (m.kind !== "patches") throw new Error("kind");
  return m.patches[0]!;
};
const refused = (bytes: Uint8Array, message: RegExp, limits?: Parameters<typeof decodeWire>[1]) => {
  let error: unknown;
  try {
    decodeWire(bytes, limits);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DecodeError);
  expect((error as Error).message).toMatch(message);
};

describe("codec edges", () => {
  it("round-trips text of every length around the growth of its length prefix (ASCII, 2- and 3-byte UTF-8)", () => {
    const lengths = [0, 1, 24, 25, 42, 43, 44, 126, 127, 128, 129, 5461, 5462, 5463, 16383, 16384, 16385, 43690, 43691];
    for (const unit of ["a", "é", "日"]) {
      for (const n of lengths) {
        const s = unit.repeat(n);
        const m = one({ id: 1, s });
        expect(back({ id: 1, s }).values.s, `${n} × ${unit}`).toBe(s);
        // The length prefix is the UTF-8 byte count, in its shortest varint form.
        const bytes = Buffer.byteLength(s);
        const prefix = bytes < 128 ? 1 : bytes < 16384 ? 2 : 3;
        expect(m.length, `${n} × ${unit}: message size`).toBe(28 + prefix + bytes);
      }
    }
  });

  it("encodes integers at the varint and tag boundaries with the documented tags", () => {
    const cases: [SqlValue, string][] = [
      [0, "0100"],
      [127, "017f"],
      [128, "018001"],
      [16383, "01ff7f"],
      [16384, "01808001"],
      [2 ** 53 - 1, "01ffffffffffffff0f"],
      [-1, "0200"],
      [-128, "027f"],
      [-129, "028001"],
      [-(2 ** 53 - 1), "02feffffffffffff0f"],
      [2n ** 53n - 1n, "01ffffffffffffff0f"],
      [-(2n ** 53n - 1n), "02feffffffffffff0f"],
      [2n ** 53n, "030000000000002000"],
      [-(2n ** 53n), "03000000000000e0ff"],
      [2 ** 53, "040000000000004043"],
      [0.5, "04000000000000e03f"],
    ];
    for (const [v, tagged] of cases) {
      const m = hex(one({ id: v }));
      // header 720101, 1 table "t" with column "id", 1 patch: flags, table, peer, seq, delta, 1 column 0, then the value.
      expect(m.slice(0, 36), String(v)).toBe("72010101017401026964010000010100" + "0100");
      expect(m.slice(36, -8), String(v)).toBe(tagged);
      expect(back({ id: v }).values.id, String(v)).toEqual(typeof v === "bigint" && v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v);
    }
  });

  it("writes the compact patch header: flags, elided fields, timestamp deltas both ways", () => {
    const e = new PatchesEncoder();
    expect(e.size).toBe(0);
    const t = e.addTable("t", ["id", "v"]);
    const cols = [0, 1];
    e.add(t, 5, 10, 1000, cols, [1, 2]);
    const afterOne = e.size;
    expect(afterOne).toBeGreaterThan(0);
    e.add(t, 5, 11, 1001, cols, [1, 3]); // same table, peer, next seq, same columns
    e.add(t, 5, 13, 999, [0, 1], [1, 4]); // seq jump, backwards in time, equal column list
    e.add(t, 6, 14, 999, [0], [1]); // other peer, same time, other columns
    expect(e.size).toBeGreaterThan(afterOne);
    expect(e.count).toBe(4);
    const body = hex(e.finish()).slice(0, -8);
    expect(body).toBe(
      "720101" + "01" + "0174" + "02" + "026964" + "0176" + "04" +
        "00" + "00" + "05" + "0a" + "e807" + "020001" + "0101" + "0102" +
        "0f" + "01" + "0101" + "0103" +
        "1b" + "0d" + "02" + "0101" + "0104" +
        "01" + "06" + "0e" + "00" + "0100" + "0101",
    );
  });

  it("compares column lists by content", () => {
    const a = [1, 2, 3];
    expect(sameList(a, a)).toBe(true);
    expect(sameList(a, [1, 2, 3])).toBe(true);
    expect(sameList(a, [1, 2])).toBe(false);
    expect(sameList([1, 2], a)).toBe(false);
    expect(sameList(a, [1, 2, 4])).toBe(false);
    expect(sameList([], [])).toBe(true);
  });

  it("knows the int64 range", () => {
    expect(isInt64(2n ** 63n - 1n)).toBe(true);
    expect(isInt64(-(2n ** 63n))).toBe(true);
    expect(isInt64(0n)).toBe(true);
    expect(isInt64(2n ** 63n)).toBe(false);
    expect(isInt64(-(2n ** 63n) - 1n)).toBe(false);
  });

  it("refuses what only the limits and the less common checks catch, naming each", () => {
    refused(new Uint8Array([0x72, 0x01]), /^message too short \(at byte 2\)/);
    refused("not bytes" as unknown as Uint8Array, /^message is not a Uint8Array/);
    refused(withCrc("720102 00 00"), /exceeds the 8-byte limit/, { maxMessageBytes: 8, maxPatches: 10 });
    refused(withCrc("720101 01 0174 01 026964 03 00"), /^too many patches: 3 > 2 \(at byte 10\)/, { maxMessageBytes: 1000, maxPatches: 2 });
    // Same-columns flag without same-table flag (second patch).
    refused(withCrc("720101 01 0174 01 026964 02 00 00 01 01 00 0100 0100 0a 00 01 00 0100"), /^same-columns flag without same-table flag/);
    // A head whose highest sequence overflows 2^53-1.
    refused(withCrc("720102 00 01 01 ffffffffffffff0f 01 01"), /^sequence out of range \(at byte 5\)/);
    // A name longer than 4 KiB.
    refused(withCrc(`720101 01 818001${"61".repeat(4097)} 00 00`), /^text too long \(at byte 4\)/);
    // A request range whose end overflows.
    refused(withCrc("720103 01 01 01 ffffffffffffff0f"), /^sequence range out of range/);
    // A truncated fixed-size value.
    refused(withCrc(`720101 01 0174 01 026964 01 00 00 01 01 00 0100 04 0000`), /^truncated message/);
    // A text or blob value longer than the bytes left: refused where its bytes start.
    refused(withCrc(`720101 01 0174 01 026964 01 00 00 01 01 00 0100 05 05 6162`), /^truncated message \(at byte 20\)$/);
    refused(withCrc(`720101 01 0174 01 026964 01 00 00 01 01 00 0100 06 05 6162`), /^truncated message \(at byte 20\)$/);
    refused(withCrc(`720101 01 0174 01 026964 01 00 00 01 01 00 0100 05 03 6162`), /^truncated message \(at byte 20\)$/);
  });

  it("decodes a next-sequence run and a timestamp step back exactly", () => {
    const m = decodeWire(
      withCrc("720101 01 0174 01 026964 03 00 00 05 0a e807 0100 0101 0f 01 0102 1f 02 0103"),
    );
    expect(m).toEqual({
      kind: "patches",
      tables: [{ name: "t", columns: ["id"] }],
      patches: [
        { table: 0, peerId: 5, seq: 10, patchedAt: 1000, columns: [0], values: [1] },
        { table: 0, peerId: 5, seq: 11, patchedAt: 1001, columns: [0], values: [2] },
        { table: 0, peerId: 5, seq: 12, patchedAt: 999, columns: [0], values: [3] },
      ],
    });
  });

  it("heartbeats and requests carry their numbers exactly", () => {
    const hb = { kind: "heartbeat" as const, clock: 2 ** 53 - 1, heads: [{ peerId: 0xffffffff, contiguous: 2 ** 40, highest: 2 ** 40 + 3, retainedFrom: 7 }] };
    expect(decodeWire(encodeWire(hb))).toEqual(hb);
    const rq = { kind: "request" as const, ranges: [{ peerId: 0, from: 1, to: 1 }, { peerId: 9, from: 2 ** 40, to: 2 ** 40 + 5 }] };
    expect(decodeWire(encodeWire(rq))).toEqual(rq);
  });

  it("accepts the largest numbers the format allows and refuses one more", () => {
    const P = "720101 01 0174 01 026964";
    // A heartbeat head whose highest is exactly 2^53-1; a request range ending there.
    expect(decodeWire(withCrc("720102 00 01 01 feffffffffffff0f 01 01"))).toMatchObject({ heads: [{ highest: 2 ** 53 - 1 }] });
    expect(decodeWire(withCrc("720103 01 01 01 feffffffffffff0f"))).toMatchObject({ ranges: [{ from: 1, to: 2 ** 53 - 1 }] });
    // A next-sequence step past 2^53-1, a timestamp delta past it.
    refused(withCrc(`${P.replace("01 026964", "01 026964")} 02 00 00 01 ffffffffffffff0f 00 0100 0100 0f 00 0100`), /^sequence number out of range/);
    refused(withCrc(`${P} 02 00 00 01 01 ffffffffffffff0f 0100 0100 0b 01 0100`), /^timestamp out of range/);
    // A repeated column index.
    refused(withCrc("720101 01 0174 02 026964 0176 01 00 00 01 01 00 020000 0100 0100"), /^patch column index out of order or range/);
    // Big-integer tag for ±(2^53-1): non-canonical.
    refused(withCrc(`${P} 01 00 00 01 01 00 0100 03ffffffffffff1f00`), /^non-canonical integer/);
    refused(withCrc(`${P} 01 00 00 01 01 00 0100 03010000000000e0ff`), /^non-canonical integer/);
    // A name of exactly 4 KiB is fine.
    expect(decodeWire(withCrc(`720101 01 8020${"61".repeat(4096)} 00 00`))).toMatchObject({ tables: [{ name: "a".repeat(4096) }] });
    // Counts naming what ran short.
    refused(withCrc("720103 05 01 01 00"), /^truncated ranges/);
    refused(withCrc("720101 01 0174 09 026964 00"), /^truncated columns/);
    refused(withCrc("720101 01 0174 02 026964 0176 01 00 00 01 01 00 05"), /^truncated patch columns|too many patch columns/);
    // Seven bytes with a good checksum: the parser, not the length check, reports it.
    refused(withCrc("720102"), /^truncated message/);
  });

  it("applies the documented default limits and accepts a message of exactly the limit", () => {
    expect(DEFAULT_LIMITS).toEqual({ maxMessageBytes: 64 * 1024 * 1024, maxPatches: 1_000_000 });
    const m = withCrc("720102 00 00");
    expect(decodeWire(m, { maxMessageBytes: m.length, maxPatches: 1 })).toEqual({ kind: "heartbeat", clock: 0, heads: [] });
  });

  it("text: invalid UTF-8 in short values, a leading BOM kept, very long ASCII, and text after a long blob", () => {
    refused(withCrc("720101 01 0174 01 026964 01 00 00 01 01 00 0100 050180"), /^invalid UTF-8/);
    refused(withCrc("720101 01 0174 01 026964 01 00 00 01 01 00 0100 0502c0af"), /^invalid UTF-8/);
    expect(back({ id: 1, s: "\uFEFFx" }).values.s).toBe("\uFEFFx");
    const long = "x".repeat(300_000);
    expect(back({ id: 1, s: long }).values.s).toBe(long);
    const s = "y".repeat(43);
    expect(back({ id: 1, b: new Uint8Array(300).fill(7), s }).values.s).toBe(s);
  });

  it("decoded blobs are copies, not views of the message", () => {
    const m = one({ id: 1, b: new Uint8Array([1, 2, 3]) });
    const d = decodeWire(m) as { patches: { values: SqlValue[] }[] };
    m.fill(0);
    expect(Array.from(d.patches[0]!.values[1] as Uint8Array)).toEqual([1, 2, 3]);
  });

  it("a first patch on the second table of a message round-trips", () => {
    const msg = {
      kind: "patches" as const,
      tables: [{ name: "a", columns: ["id"] }, { name: "b", columns: ["id"] }],
      patches: [
        { table: 1, peerId: 3, seq: 1, patchedAt: 5, columns: [0], values: [1] },
        { table: 1, peerId: 3, seq: 2, patchedAt: 6, columns: [0], values: [2] },
      ],
    };
    expect(decodeWire(encodeWire(msg))).toEqual(msg);
  });
});


describe("wire version 2: the group section", () => {
  const tables = [{ name: "t", columns: ["id"] }];
  const patch = (peerId: number, seq: number, patchedAt = 5) => ({ table: 0, peerId, seq, patchedAt, columns: [0], values: [seq] });
  const grouped = { kind: "patches" as const, tables, patches: [patch(1, 3), patch(1, 4), patch(2, 9, 6)], groups: [{ peerId: 1, first: 2, last: 4 }] };

  it("is written only at version 2 and only with a group; version 1 leaves it out", () => {
    const v2 = encodeWire(grouped, 2);
    expect(v2[1]).toBe(2);
    expect(wireVersionOf(v2)).toBe(2);
    const back = decodeWire(v2);
    expect(back.kind === "patches" && back.groups).toEqual([{ peerId: 1, first: 2, last: 4 }]);
    const v1 = encodeWire(grouped, 1);
    expect(v1[1]).toBe(1);
    expect(decodeWire(v1)).toEqual({ kind: "patches", tables, patches: grouped.patches });
    expect(encodeWire(grouped)).toEqual(v1); // version 1 unless asked
    const none = encodeWire({ ...grouped, groups: [] }, 2);
    expect(none).toEqual(v1);
    expect(encodeWire({ kind: "heartbeat", clock: 1, heads: [] }, 2)[1]).toBe(2);
    expect(encodeWire({ kind: "request", ranges: [] }, 2)[1]).toBe(2);
  });

  it("refuses to write an unknown version or a group that is not one", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code + ": " + (e as Error).message;
      }
      return "written";
    };
    expect(code(() => encodeWire(grouped, 4))).toBe("INVALID_MESSAGE: cannot encode wire version 4: not an integer in range");
    expect(code(() => encodeWire(grouped, 0))).toMatch(/^INVALID_MESSAGE: cannot encode wire version 0/);
    expect(code(() => encodeWire({ ...grouped, groups: [{ peerId: 1, first: 3, last: 3 }] }, 2))).toMatch(/^INVALID_MESSAGE: cannot encode sequence 3/);
    expect(code(() => encodeWire({ ...grouped, groups: [{ peerId: 1, first: 0, last: 3 }] }, 2))).toMatch(/^INVALID_MESSAGE: cannot encode sequence 0/);
    expect(code(() => encodeWire({ ...grouped, groups: [{ peerId: 2 ** 32, first: 1, last: 3 }] }, 2))).toMatch(/^INVALID_MESSAGE: cannot encode peer id/);
  });

  it("a group larger than limits.maxGroupPatches is refused by the decoder, a group at the limit is not", () => {
    const bytes = encodeWire({ ...grouped, groups: [{ peerId: 1, first: 2, last: 4 }] }, 2);
    expect(() => decodeWire(bytes, { ...DEFAULT_LIMITS, maxGroupPatches: 2 })).toThrow(/group of 3 patches exceeds the 2-patch limit/);
    expect(decodeWire(bytes, { ...DEFAULT_LIMITS, maxGroupPatches: 3 }).kind).toBe("patches");
  });

  it("groupOf finds a sequence's group among one origin's sorted groups", () => {
    const gs = [
      { peerId: 1, first: 2, last: 4 },
      { peerId: 1, first: 7, last: 8 },
      { peerId: 1, first: 10, last: 30 },
    ];
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 31].map((s) => groupOf(gs, s)?.first ?? 0)).toEqual([0, 2, 2, 2, 0, 0, 7, 7, 0, 10, 10, 10, 0]);
    expect(groupOf(undefined, 3)).toBeUndefined();
    expect(groupOf([], 3)).toBeUndefined();
  });

  it("groups of two origins may interleave; each origin's must ascend", () => {
    const two = { ...grouped, patches: [patch(1, 3), patch(2, 9, 6), patch(2, 10, 6), patch(1, 4)], groups: [{ peerId: 2, first: 9, last: 10 }, { peerId: 1, first: 3, last: 4 }] };
    const back = decodeWire(encodeWire(two, 2));
    expect(back.kind === "patches" && back.groups!.length).toBe(2);
  });
});
