/**
 * The wire format's test vectors (docs/protocol.md, "Test vectors"): each binding's build of the
 * codec encodes every valid message to exactly its bytes, decodes the bytes back to the same
 * message, and refuses every invalid one (CRC-32 correct) with a DecodeError from the parser.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fail } from "./fail.js";
import type { ConformanceBinding, SqlValue } from "./types.js";
import { hex } from "./util.js";
import { syncWorld, type World } from "./world.js";

type JsonValue = null | number | string | { bigint: string } | { float: string } | { blob: string };

interface GoldenVectors {
  valid: { name: string; version?: number; hex: string; message: { kind: string; patches?: { values: JsonValue[] }[] } }[];
  invalid: { why: string; hex: string }[];
}

export const PROTOCOL_DOC = new URL("../../docs/protocol.md", import.meta.url);

/** The machine-readable block of docs/protocol.md. */
export function goldenVectors(): GoldenVectors {
  const doc = readFileSync(PROTOCOL_DOC, "utf8");
  const m = /```json golden-vectors\n([\s\S]*?)\n```/.exec(doc);
  if (!m) throw new Error("docs/protocol.md has no ```json golden-vectors block");
  return JSON.parse(m[1]!) as GoldenVectors;
}

export function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function valueOf(v: JsonValue): SqlValue {
  if (v === null || typeof v === "number" || typeof v === "string") return v;
  if ("bigint" in v) return BigInt(v.bigint);
  if ("float" in v) return Number(v.float);
  return fromHex(v.blob);
}

/** A vector's message with its values as the codec takes and returns them. */
function messageOf(m: GoldenVectors["valid"][number]["message"]): unknown {
  if (m.kind !== "patches") return m;
  return { ...m, patches: m.patches!.map((p) => ({ ...p, values: p.values.map(valueOf) })) };
}

/** Exact text of a decoded value: type and value, -0 and blobs included; keys sorted. */
function exact(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === "bigint") return `bigint:${x}`;
    if (typeof x === "number") return Object.is(x, -0) ? "number:-0" : Number.isFinite(x) ? x : `number:${x}`;
    if (x instanceof Uint8Array) return `blob:${hex(x)}`;
    if (x && typeof x === "object" && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return x;
  });
}

export function goldenSuite<Db>(b: ConformanceBinding<Db>): void {
  goldenBlock(syncWorld(b));
}

/** The golden vectors on any world: the codec as the world's runtime runs it. */
export function goldenBlock(w: World): void {
  const vectors = goldenVectors();

  describe("wire format: golden vectors of docs/protocol.md", () => {
    it("the document holds vectors of every message kind and value tag", () => {
      const kinds = new Set(vectors.valid.map((v) => v.message.kind));
      expect([...kinds].sort()).toEqual(["heads-request", "heartbeat", "patches", "request"]);
      // Every value tag 0..6 appears in some vector (the tag byte sits right before each value).
      const tags = new Set<string>();
      for (const v of vectors.valid) for (const p of v.message.patches ?? []) for (const x of p.values) tags.add(x === null ? "null" : typeof x === "object" ? Object.keys(x)[0]! : typeof x);
      expect([...tags].sort()).toEqual(["bigint", "blob", "float", "null", "number", "string"]);
      expect(vectors.invalid.length).toBeGreaterThanOrEqual(20);
    });

    for (const v of vectors.valid) {
      it(`encodes and decodes byte for byte: ${v.name}`, async () => {
        const message = messageOf(v.message);
        expect(hex(await w.codec.encodeWire(message, v.version ?? 1)), "encodeWire").toBe(v.hex);
        const decoded = await w.codec.decodeWire(fromHex(v.hex));
        expect(exact(decoded), "decodeWire").toBe(exact(message));
        // The friendly form (names instead of indexes; its table list holds only used columns)
        // round-trips to the same message.
        const friendly = await w.codec.decodeMessage(fromHex(v.hex));
        expect(exact(await w.codec.decodeMessage(await w.codec.encodeMessage(friendly))), "decodeMessage(encodeMessage(·))").toBe(exact(friendly));
      });
    }

    it(`refuses ${vectors.invalid.length} invalid messages with a DecodeError from the parser, not the checksum`, async () => {
      for (const v of vectors.invalid) {
        const bytes = fromHex(v.hex);
        let thrown: unknown;
        try {
          await w.codec.decodeWire(bytes);
        } catch (e) {
          thrown = e;
        }
        if (thrown === undefined) fail(`accepted invalid vector "${v.why}"`);
        if (!(thrown instanceof w.adapter.DecodeError)) fail(`"${v.why}": expected a DecodeError, got ${String(thrown)}`);
        const message = (thrown as Error).message;
        const crcVector = v.why.startsWith("checksum");
        expect(/checksum/.test(message), `"${v.why}" refused for the right reason: ${message}`).toBe(crcVector);
        expect((thrown as { code?: string }).code).toBe("DECODE");
      }
    });
  });
}
