/** Session tokens "<peerId>.<sequenceId>": what upsert returns and waitFor takes. */
import { isUint32 } from "./ids.js";

export function formatToken(peerId: number, seq: number): string {
  return `${peerId}.${seq}`;
}

/** [peerId, seq] of a well-formed token, or undefined. */
export function parseToken(token: string): [number, number] | undefined {
  if (typeof token !== "string") return undefined;
  const m = /^(\d{1,10})\.(\d{1,16})$/.exec(token);
  if (!m) return undefined;
  const peer = Number(m[1]);
  const seq = Number(m[2]);
  if (!isUint32(peer) || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  return [peer, seq];
}
