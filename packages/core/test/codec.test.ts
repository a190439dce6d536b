import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  decodeMessage,
  decodeWire,
  encodeMessage,
  encodeWire,
  crc32,
  DecodeError,
  type Message,
  type SqlValue,
} from "../src/index.js";

const value: fc.Arbitrary<SqlValue> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((b) => b > 2n ** 53n || b < -(2n ** 53n)),
  fc.double({ noNaN: true }),
  fc.string({ unit: "grapheme" }),
  fc.uint8Array({ maxLength: 40 }),
);

const patch = fc.record({
  table: fc.constantFrom("items", "users", "x_y"),
  peerId: fc.nat({ max: 0xffffffff }),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  patchedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  values: fc.dictionary(fc.constantFrom("id", "name", "qty", "price", "deletedAt", "ü"), value, { minKeys: 1 }),
});

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ kind: fc.constant("patches" as const), patches: fc.array(patch, { maxLength: 20 }) }),
  fc.record(
    {
      kind: fc.constant("heartbeat" as const),
      clock: fc.maxSafeNat(),
      heads: fc.array(
        fc
          .record({ peerId: fc.nat({ max: 0xffffffff }), contiguous: fc.nat(1e9), extra: fc.nat(1e6), retainedFrom: fc.nat(1e9) })
          .map(({ extra, ...h }) => ({ ...h, highest: h.contiguous + extra })),
        { maxLength: 10 },
      ),
      // Optional: heartbeats of builds before the schema section have none.
      schema: fc.record({ version: fc.nat(1e6), hash: fc.nat({ max: 0xffffffff }) }),
    },
    { requiredKeys: ["kind", "clock", "heads"] },
  ),
  fc.record({
    kind: fc.constant("request" as const),
    ranges: fc.array(
      fc.record({ peerId: fc.nat({ max: 0xffffffff }), from: fc.integer({ min: 1, max: 1e12 }), len: fc.nat(1e6) }).map(({ len, ...r }) => ({ ...r, to: r.from + len })),
      { maxLength: 10 },
    ),
  }),
);

/** Replaces the CRC-32 trailer of a (mutated) message with a valid one, so the parser is reached. */
function withCrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (out.length >= 4) new DataView(out.buffer).setUint32(out.length - 4, crc32(out, out.length - 4), true);
  return out;
}

function normalize(m: Message): unknown {
  // Blobs come back as Uint8Array copies; compare as arrays. Object key order is irrelevant.
  return JSON.parse(
    JSON.stringify(m, (_k, v) =>
      typeof v === "bigint" ? `big:${v}` : v instanceof Uint8Array ? { blob: [...v] } : Object.is(v, -0) ? "-0" : v,
    ),
  );
}

describe("wire codec", () => {
  it("round-trips every message kind exactly", () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = decodeMessage(encodeMessage(m));
        expect(normalize(back)).toEqual(normalize(m));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps value types: integer vs float, -0, big integers, empty text and blob", () => {
    const values = { a: 1, b: 1.5, c: -0, d: 2n ** 60n, e: "", f: new Uint8Array(0), g: -(2 ** 53 - 1), h: null };
    const m = decodeMessage(encodeMessage({ kind: "patches", patches: [{ table: "t", peerId: 7, seq: 1, patchedAt: 99, values }] }));
    if (m.kind !== "patches") throw new Error("kind");
    const v = m.patches[0]!.values;
    expect(Object.is(v.c, -0)).toBe(true);
    expect(v.d).toBe(2n ** 60n);
    expect(v.f).toBeInstanceOf(Uint8Array);
    expect(v).toEqual({ ...values, f: new Uint8Array(0) });
  });

  it("is compact for a batch from one peer", () => {
    const patches = Array.from({ length: 1000 }, (_, i) => ({
      table: "items",
      peerId: 123456789,
      seq: i + 1,
      patchedAt: 3_600_000_000_000_000 + i,
      values: { id: i, name: `item ${i}`, qty: i % 100, price: 9.99, deletedAt: null },
    }));
    const bytes = encodeMessage({ kind: "patches", patches }).length;
    const json = JSON.stringify(patches).length;
    expect(bytes / json).toBeLessThan(0.4);
  });

  it("heartbeats: the schema section is an optional tail after the heads, told apart by the bytes left", () => {
    const plain = encodeMessage({ kind: "heartbeat", clock: 10, heads: [{ peerId: 1, contiguous: 3, highest: 5, retainedFrom: 1 }] });
    const withSchema = encodeMessage({ kind: "heartbeat", clock: 10, heads: [{ peerId: 1, contiguous: 3, highest: 5, retainedFrom: 1 }], schema: { version: 2, hash: 300 } });
    // Header, clock, one head; then (only in the second) varint 2, varint 300; then the CRC-32.
    expect(Buffer.from(plain.subarray(0, -4)).toString("hex")).toBe("7201020a0101030201");
    expect(Buffer.from(withSchema.subarray(0, -4)).toString("hex")).toBe("7201020a0101030201" + "02" + "ac02");
    expect(decodeMessage(plain)).toEqual({ kind: "heartbeat", clock: 10, heads: [{ peerId: 1, contiguous: 3, highest: 5, retainedFrom: 1 }] });
    expect((decodeMessage(withSchema) as { schema?: unknown }).schema).toEqual({ version: 2, hash: 300 });
    // A hash beyond uint32 is refused.
    const bad = new Uint8Array([...withSchema.subarray(0, -7), 0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0]);
    bad.set(new Uint8Array(new Uint32Array([crc32(bad, bad.length - 4)]).buffer), bad.length - 4);
    expect(() => decodeMessage(bad)).toThrow(DecodeError);
  });

  it("rejects hostile input with DecodeError, never anything else (fuzz)", () => {
    const runs = Number(process.env.REPLIC_FUZZ_RUNS ?? 100_000);
    const seeds = [
      encodeMessage({ kind: "patches", patches: [{ table: "items", peerId: 1, seq: 1, patchedAt: 5, values: { id: 1, name: "a", qty: 2.5, b: new Uint8Array([1, 2]) } }] }),
      encodeMessage({ kind: "heartbeat", clock: 10, heads: [{ peerId: 1, contiguous: 3, highest: 5, retainedFrom: 1 }] }),
      encodeMessage({ kind: "heartbeat", clock: 10, heads: [], schema: { version: 3, hash: 0xdeadbeef } }),
      encodeMessage({ kind: "request", ranges: [{ peerId: 2, from: 1, to: 9 }] }),
    ];
    let rng = 0x9e3779b9;
    const rand = (n: number) => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return (rng >>> 0) % n;
    };
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < runs; i++) {
      let bytes: Uint8Array;
      const seed = seeds[rand(seeds.length)]!;
      switch (rand(4)) {
        case 0: // random garbage, sometimes with a valid header
          bytes = Uint8Array.from({ length: rand(64) }, () => rand(256));
          if (bytes.length > 3 && rand(2)) bytes.set([0x72, 1, 1 + rand(3)]);
          break;
        case 1: // truncation
          bytes = seed.slice(0, rand(seed.length));
          break;
        case 2: {
          // byte flips
          bytes = seed.slice();
          for (let k = 0, n = 1 + rand(3); k < n; k++) bytes[rand(bytes.length)] ^= 1 + rand(255);
          break;
        }
        default: {
          // splices and appended junk
          const other = seeds[rand(seeds.length)]!;
          const cut = rand(seed.length);
          bytes = new Uint8Array([...seed.subarray(0, cut), ...other.subarray(rand(other.length)), ...(rand(2) ? [rand(256)] : [])]);
        }
      }
      // Half the samples get a valid checksum so the parser itself is fuzzed: it may accept a
      // different well-formed message, or must throw a DecodeError.
      const parserFuzz = rand(2) === 1;
      if (parserFuzz) bytes = withCrc(bytes);
      const unchanged = seeds.some((s) => s.length === bytes.length && s.every((b, k) => b === bytes[k]));
      try {
        decodeWire(bytes);
        if (!parserFuzz && !unchanged) throw new Error(`corrupted bytes accepted: ${Buffer.from(bytes).toString("hex")}`);
        accepted++;
      } catch (err) {
        if (!(err instanceof DecodeError)) throw new Error(`non-DecodeError for ${Buffer.from(bytes).toString("hex")}: ${String(err)}`);
        rejected++;
      }
    }
    // Without a fixed-up checksum nothing corrupted gets through; with one, the parser still
    // rejects most of what the mutations produce.
    expect(rejected + accepted).toBe(runs);
    expect(rejected).toBeGreaterThan(runs * 0.6);
  }, 60_000);

  it("names the problem and offset", () => {
    expect(() => decodeWire(withCrc(new Uint8Array([0x72, 9, 1, 0, 0, 0, 0, 0])))).toThrow(/unsupported wire version 9/);
    expect(() => decodeWire(new Uint8Array([0x72, 1, 1]))).toThrow(/too short/);
    expect(() => decodeWire(new Uint8Array([]))).toThrow(DecodeError);
    const ok = encodeWire({ kind: "request", ranges: [{ peerId: 1, from: 1, to: 2 }] });
    expect(() => decodeWire(withCrc(new Uint8Array([...ok.subarray(0, ok.length - 4), 0, 0, 0, 0, 0])))).toThrow(/trailing bytes/);
    expect(() => decodeWire(new Uint8Array(10), { maxMessageBytes: 5, maxPatches: 10 })).toThrow(/exceeds/);
    expect(() => decodeWire("abc" as unknown as Uint8Array)).toThrow(DecodeError);
  });

  it("caps counts against the bytes actually present (no huge allocations)", () => {
    // Claims 2^40 tables in a 13-byte message (with a valid checksum, so the count check fires).
    const body = new Uint8Array([0x72, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    const bytes = new Uint8Array([...body, 0, 0, 0, 0]);
    new DataView(bytes.buffer).setUint32(body.length, crc32(body), true);
    expect(() => decodeWire(bytes)).toThrow(/too many tables/);
    expect(() => decodeWire(bytes.map((b, i) => (i === 12 ? b ^ 1 : b)))).toThrow(/checksum/);
  });
});

describe("crc32", () => {
  it("matches the IEEE check value and a bytewise reference at every length and offset", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const table = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const reference = (b: Uint8Array, end: number) => {
      let c = 0xffffffff;
      for (let i = 0; i < end; i++) c = table[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    };
    const bytes = Uint8Array.from({ length: 67 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let end = 0; end <= bytes.length; end++) expect(crc32(bytes, end)).toBe(reference(bytes, end));
    expect(crc32(bytes.subarray(3), 40)).toBe(reference(bytes.subarray(3), 40));
  });
});
