/**
 * The same HMAC-SHA256 challenge as auth.ts on WebCrypto, for browsers (and any runtime with a
 * global `crypto.subtle`): nonces from crypto.getRandomValues, proofs by subtle.sign, checks by
 * subtle.verify (constant time). Async: the link holds incoming frames while a proof is computed.
 */
import { proofInput, type AuthScheme } from "./auth-scheme.js";
import { NONCE_BYTES } from "./frames.js";

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

export const webCryptoAuth: AuthScheme = {
  nonce: () => crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
  async proof(secret, theirNonce, fromPeer, toPeer) {
    return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), proofInput(theirNonce, fromPeer, toPeer)));
  },
  async verify(secret, ourNonce, fromPeer, toPeer, got) {
    return crypto.subtle.verify("HMAC", await hmacKey(secret), new Uint8Array(got), proofInput(ourNonce, fromPeer, toPeer));
  },
};
