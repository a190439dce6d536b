/**
 * JSON that carries every value a replica takes or returns exactly, for worlds reached over
 * HTTP (world.ts): bigint, Uint8Array (and ArrayBuffer), -0, NaN and the infinities, undefined.
 * Plain objects with a key starting with "$" are wrapped so they cannot pass for a tag. Strings
 * survive as they are: JSON escapes lone surrogates and U+0000.
 */

function hexOf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function bytesOf(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function tag(v: unknown): unknown {
  if (typeof v === "bigint") return { $big: v.toString() };
  if (typeof v === "number") return Object.is(v, -0) || !Number.isFinite(v) ? { $num: Object.is(v, -0) ? "-0" : String(v) } : v;
  if (v === undefined) return { $undef: 1 };
  if (v instanceof Uint8Array) return { $bytes: hexOf(v) };
  if (v instanceof ArrayBuffer) return { $bytes: hexOf(new Uint8Array(v)) };
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = tag(x);
    return Object.keys(o).some((k) => k.startsWith("$")) ? { $obj: o } : o;
  }
  return v;
}

function untag(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(untag);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if ("$big" in o) return BigInt(o.$big as string);
  if ("$num" in o) return Number(o.$num);
  if ("$undef" in o) return undefined;
  if ("$bytes" in o) return bytesOf(o.$bytes as string);
  const src = "$obj" in o ? (o.$obj as Record<string, unknown>) : o;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(src)) out[k] = untag(x);
  return out;
}

export function toTaggedJson(v: unknown): string {
  return JSON.stringify(tag(v));
}

export function fromTaggedJson(text: string): unknown {
  return untag(JSON.parse(text));
}
