import type { Scope } from "@replic/core";

/** The part of a Replica a link drives. */
export interface LinkableReplica {
  readonly peerId: number;
  /** `allow`: the widest scope that neighbour may write here (docs/scopes.md). */
  addPeer(peerId: number, send: (message: Uint8Array) => void, options?: { allow?: Scope }): void;
  removePeer(peerId: number): void;
  receive(fromPeerId: number, message: Uint8Array): void;
  tick(): void;
}

export interface LinkLogger {
  warn(message: string, detail?: unknown): void;
}

/** receive() that costs a bad message only that message, never the caller. */
export function safeReceive(replica: LinkableReplica, from: number, bytes: Uint8Array, logger: LinkLogger, onBad?: () => void): void {
  try {
    replica.receive(from, bytes);
  } catch (err) {
    onBad?.();
    logger.warn(`replic: message from peer ${from} refused: ${(err as Error)?.message ?? err}`);
  }
}
