/**
 * Shared-secret authentication by HMAC-SHA256 challenge, on node:crypto (Node and Bun): each side
 * sends a random nonce in its hello and proves knowledge of the secret by an HMAC over the other
 * side's nonce and both peer ids. The secret never crosses the wire and a recorded proof is
 * useless on another connection. Synchronous, so the Node and Bun links never wait on crypto.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { proofInput, type AuthScheme } from "./auth-scheme.js";
import { NONCE_BYTES } from "./frames.js";

const proof = (secret: string, theirNonce: Uint8Array, fromPeer: number, toPeer: number): Uint8Array =>
  new Uint8Array(createHmac("sha256", secret).update(proofInput(theirNonce, fromPeer, toPeer)).digest());

export const nodeAuth: AuthScheme = {
  nonce: () => new Uint8Array(randomBytes(NONCE_BYTES)),
  proof,
  verify(secret, ourNonce, fromPeer, toPeer, got) {
    const expected = proof(secret, ourNonce, fromPeer, toPeer);
    return expected.length === got.length && timingSafeEqual(expected, got);
  },
};
