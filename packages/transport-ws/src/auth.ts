/**
 * Shared-secret authentication by HMAC challenge: each side sends a random nonce in its hello and
 * proves knowledge of the secret by an HMAC over the other side's nonce and both peer ids. The
 * secret never crosses the wire and a recorded proof is useless on another connection.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { NONCE_BYTES } from "./frames.js";

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** Proof that the sender (`fromPeer`) knows `secret`, bound to the receiver's nonce. */
export function authProof(secret: string, theirNonce: Uint8Array, fromPeer: number, toPeer: number): Uint8Array {
  const mac = createHmac("sha256", secret);
  mac.update("replic-ws-auth-v1");
  mac.update(theirNonce);
  mac.update(`${fromPeer}>${toPeer}`);
  return new Uint8Array(mac.digest());
}

export function proofMatches(expected: Uint8Array, got: Uint8Array): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got);
}
