/**
 * Browser stand-in for the parts of node:crypto @replic/transport-ws's client uses: random nonces
 * from crypto.getRandomValues. A shared secret (HMAC) needs synchronous HMAC, which browsers do
 * not offer, so `secret` is not supported from the browser through this shim.
 */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
export function createHmac(): never {
  throw new Error("replic demo: a shared secret is not supported from the browser");
}
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
export function createHash(): never {
  throw new Error("node:crypto createHash is not available in the browser");
}
