/**
 * The golden wire vectors of docs/protocol.md against the core's codec directly (the conformance
 * suite runs them on every binding's build; this copy is cheap enough for mutation testing).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DecodeError, decodeMessage, decodeWire, encodeMessage, encodeWire, type SqlValue } from "../src/index.js";
import { decodeWire as decodeWithGroups } from "../src/wire/decoder.js";

type JsonValue = null | number | string | { bigint: string } | { float: string } | { blob: string };
interface Vectors {
  valid: { name: string; version?: number; hex: string; message: { kind: string; patches?: { values: JsonValue[] }[] } }[];
  invalid: { why: string; hex: string }[];
}

/** docs/protocol.md, found upwards from here (mutation testing runs this file from a sandbox copy). */
function protocolDoc(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "docs", "protocol.md");
    if (existsSync(file)) return readFileSync(file, "utf8");
  }
  throw new Error("docs/protocol.md not found");
}
const doc = protocolDoc();
const vectors = JSON.parse(/```json golden-vectors\n([\s\S]*?)\n```/.exec(doc)![1]!) as Vectors;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const valueOf = (v: JsonValue): SqlValue => {
  if (v === null || typeof v !== "object") return v;
  if ("bigint" in v) return BigInt(v.bigint);
  if ("float" in v) return Number(v.float);
  return bytes(v.blob);
};
const messageOf = (m: Vectors["valid"][number]["message"]) =>
  m.kind === "patches" ? { ...m, patches: m.patches!.map((p) => ({ ...p, values: p.values.map(valueOf) })) } : m;
type VectorGroup = { peerId: number; first: number; last: number };
/** The message as decoded: each patch in a group points at it. */
const decodedOf = (m: ReturnType<typeof messageOf>) => {
  if (m.kind !== "patches") return m;
  const groups = (m as { groups?: VectorGroup[] }).groups ?? [];
  const groupOf = (p: object) => {
    const { peerId, seq } = p as { peerId: number; seq: number };
    return groups.find((g) => g.peerId === peerId && seq >= g.first && seq <= g.last);
  };
  return { ...m, patches: m.patches!.map((p) => ({ ...p, group: groupOf(p) })) };
};
/** Exact text: type and value, -0, bigints and blobs; keys sorted. */
const exact = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === "bigint") return `bigint:${x}`;
    if (typeof x === "number") return Object.is(x, -0) ? "number:-0" : Number.isFinite(x) ? x : `number:${x}`;
    if (x instanceof Uint8Array) return `blob:${hex(x)}`;
    if (x && typeof x === "object" && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return x;
  });

const MESSAGES: Record<string, RegExp> = {
  "wrong magic byte": /^not a replic message \(at byte 0\)/,
  "unsupported version 4": /^unsupported wire version 4 \(at byte 1\)/,
  "heartbeat form 2 (version 3)": /^unknown heartbeat form 2 \(at byte 4\)/,
  "heartbeat digest cut short (version 3)": /^truncated message \(at byte 5\)/,
  "heads request in a version 2 message": /^unknown message kind 4 \(at byte 2\)/,
  "heads request with a body": /^trailing bytes after message \(at byte 3\)/,
  "group section in a version 1 message": /^trailing bytes after message \(at byte 24\)/,
  "version 2 patches message without groups": /^version 2 patches message without groups \(at byte 25\)/,
  "group of a single sequence": /^group range out of range \(at byte 25\)/,
  "group that holds no patch of the message": /^a group holds no patch of the message \(at byte 28\)/,
  "parts of one group with different stamps": /^patches of group 5\.10-11 carry different stamps \(at byte 28\)/,
  "overlapping groups of one origin": /^groups of one origin overlap or are out of order \(at byte 28\)/,
  "group count larger than the bytes left": /^truncated groups \(at byte 24\)/,
  "unknown message kind 4": /^unknown message kind 4 \(at byte 2\)/,
  "message kind 0": /^unknown message kind 0 \(at byte 2\)/,
  "non-canonical varint (0 as 80 00)": /^non-canonical varint \(at byte 3\)/,
  "varint above 2^53-1": /^integer out of range \(at byte 3\)/,
  "varint longer than 8 bytes": /^varint too long \(at byte 3\)/,
  // One byte after the heads starts the optional schema section, which is then cut short.
  "trailing byte after a heartbeat": /^truncated message \(at byte 6\)/,
  "schema section of a heartbeat with a hash beyond uint32": /^schema hash is not a uint32 \(at byte 6\)/,
  "schema section of a heartbeat without its hash": /^truncated message \(at byte 6\)/,
  "head count larger than the bytes left": /^truncated heads \(at byte 4\)/,
  "request range starting at sequence 0": /^sequence range out of range \(at byte 4\)/,
  "peer id above 2^32-1": /^peer id is not a uint32 \(at byte 4\)/,
  "unknown patch flag 32": /^unknown patch flags 32 \(at byte 11\)/,
  "first patch refers to a previous one (flag 1)": /^first patch cannot refer to a previous one \(at byte 11\)/,
  "table index out of range": /^table index 1 out of range \(at byte 11\)/,
  "sequence 0": /^sequence number out of range \(at byte 11\)/,
  "patch that sets no column": /^patch sets no column \(at byte 11\)/,
  "column index out of range": /^patch column index out of order or range \(at byte 11\)/,
  "column indexes not increasing": /^patch column index out of order or range \(at byte 13\)/,
  "unknown value tag 7": /^unknown value tag 7 \(at byte 18\)/,
  "NaN float": /^NaN is not a value \(at byte 18\)/,
  "bigint tag for a safe integer": /^non-canonical integer \(at byte 18\)/,
  "invalid UTF-8 in a text value": /^invalid UTF-8 \(at byte 19\)/,
  "invalid UTF-8 in a table name": /^invalid UTF-8 \(at byte 4\)/,
  "duplicate column name": /^duplicate column name in table "t" \(at byte 13\)/,
  "next-sequence flag without same-peer flag": /^next-sequence flag without same-peer flag \(at byte 20\)/,
  "timestamp below 0": /^timestamp out of range \(at byte 20\)/,
  "patch count larger than the bytes left": /^truncated patches \(at byte 10\)/,
  "checksum mismatch (a valid heartbeat with its last CRC byte changed)": /^checksum mismatch: message corrupted \(at byte 5\)/,
};

describe("golden wire vectors (docs/protocol.md)", () => {
  for (const v of vectors.valid) {
    it(`byte for byte: ${v.name}`, () => {
      const message = messageOf(v.message);
      expect(hex(encodeWire(message as never, v.version ?? 1))).toBe(v.hex);
      // The public decodeWire is plain data; the receive path's form points each patch at its group.
      expect(exact(decodeWire(bytes(v.hex)))).toBe(exact(message));
      expect(exact(decodeWithGroups(bytes(v.hex)))).toBe(exact(decodedOf(message)));
      const friendly = decodeMessage(bytes(v.hex));
      expect(exact(decodeMessage(encodeMessage(friendly)))).toBe(exact(friendly));
    });
  }

  it("refuses every invalid vector in the parser (a DecodeError that is not about the checksum)", () => {
    for (const v of vectors.invalid) {
      let error: unknown;
      try {
        decodeWire(bytes(v.hex));
      } catch (e) {
        error = e;
      }
      expect(error, v.why).toBeInstanceOf(DecodeError);
      expect(/checksum/.test((error as Error).message), `${v.why}: ${(error as Error).message}`).toBe(v.why.startsWith("checksum"));
      // The error names the problem (what the core says today; docs/protocol.md does not pin it).
      const said = MESSAGES[v.why];
      expect(said, `an expected message for "${v.why}"`).toBeDefined();
      expect((error as Error).message, v.why).toMatch(said!);
    }
  });
});
