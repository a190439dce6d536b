/** Peer ids and writer tokens: uint32 ids, random and never 0. */

export function isUint32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function randomUint32(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues) {
    const a = new Uint32Array(1);
    c.getRandomValues(a);
    return a[0]!;
  }
  return Math.floor(Math.random() * 0x100000000);
}

export function randomPeerId(): number {
  let id = randomUint32();
  while (id === 0) id = randomUint32();
  return id;
}

/** A random 52-bit token naming one open replica of a database (see Bookkeeping.claimWriter). */
export function randomWriterToken(): number {
  return (randomUint32() % 0x100000) * 0x100000000 + randomUint32() + 1;
}
