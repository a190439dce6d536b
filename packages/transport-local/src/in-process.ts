/**
 * Two replicas of one process linked directly. Delivery is asynchronous (a microtask), as on a
 * real network, so a send never re-enters the sender's receive.
 */
import { ReplicError } from "@replic/core";
import { safeReceive, type LinkLogger, type LinkableReplica } from "./replica-like.js";

export interface InProcessOptions {
  /** Drop each message with this probability (tests of repair). Default 0. */
  loss?: number;
  logger?: LinkLogger;
}

export interface InProcessLink {
  /** Messages refused by a receiver (bad bytes, schema mismatch). */
  readonly refused: number;
  close(): Promise<void>;
}

export function linkInProcess(a: LinkableReplica, b: LinkableReplica, options: InProcessOptions = {}): InProcessLink {
  const loss = options.loss ?? 0;
  if (typeof loss !== "number" || !(loss >= 0 && loss < 1)) throw new ReplicError("INVALID_OPTION", `loss must be in [0, 1), got ${String(loss)}`);
  if (a === b || a.peerId === b.peerId) throw new ReplicError("INVALID_OPTION", "cannot link a replica to itself");
  const logger = options.logger ?? console;
  let open = true;
  let refused = 0;
  const wire = (from: LinkableReplica, to: LinkableReplica) =>
    from.addPeer(to.peerId, (bytes) => {
      if (loss > 0 && Math.random() < loss) return;
      // Copy: the sender may reuse its buffer, and a real network would not share it.
      const copy = bytes.slice();
      queueMicrotask(() => {
        if (open) safeReceive(to, from.peerId, copy, logger, () => refused++);
      });
    });
  wire(a, b);
  wire(b, a);
  // Exchange heads now rather than at the next heartbeat.
  a.tick();
  b.tick();
  return {
    get refused() {
      return refused;
    },
    async close() {
      if (!open) return;
      open = false;
      for (const [x, y] of [[a, b], [b, a]] as const) {
        try {
          x.removePeer(y.peerId);
        } catch {
          // closed replica
        }
      }
    },
  };
}
