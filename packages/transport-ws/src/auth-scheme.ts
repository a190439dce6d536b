/**
 * The shared-secret handshake's crypto, as a pluggable scheme: Node and Bun compute it with
 * node:crypto (auth.ts), browsers with WebCrypto (auth-webcrypto.ts), whose HMAC is async. Both
 * MAC the same bytes, so any client talks to any server.
 */
export interface AuthScheme {
  /** A fresh random nonce for this side's hello. */
  nonce(): Uint8Array;
  /** Proof that the sender (`fromPeer`) knows `secret`, bound to the receiver's nonce. */
  proof(secret: string, theirNonce: Uint8Array, fromPeer: number, toPeer: number): Uint8Array | Promise<Uint8Array>;
  /** Whether `got` is the proof `fromPeer` owes us for our nonce, compared in constant time. */
  verify(secret: string, ourNonce: Uint8Array, fromPeer: number, toPeer: number, got: Uint8Array): boolean | Promise<boolean>;
}

const LABEL = new TextEncoder().encode("replic-ws-auth-v1");

/** The MACed bytes: a label, the receiver's nonce and the direction "from>to". */
export function proofInput(theirNonce: Uint8Array, fromPeer: number, toPeer: number): Uint8Array<ArrayBuffer> {
  const direction = new TextEncoder().encode(`${fromPeer}>${toPeer}`);
  const out = new Uint8Array(LABEL.length + theirNonce.length + direction.length);
  out.set(LABEL);
  out.set(theirNonce, LABEL.length);
  out.set(direction, LABEL.length + theirNonce.length);
  return out;
}
