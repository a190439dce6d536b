/** The part of a Replica a link drives. */
export interface LinkableReplica {
  readonly peerId: number;
  addPeer(peerId: number, send: (message: Uint8Array) => void): void;
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
