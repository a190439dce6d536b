/**
 * Two replicas of one process linked directly. Delivery is asynchronous (a microtask), as on a
 * real network, so a send never re-enters the sender's receive.
 */
import { ReplicError, type Scope } from "@replic/core";
import { safeReceive, type LinkLogger, type LinkableReplica } from "./replica-like.js";

/** What an authenticate hook answers: true (anything), `{ allow }` (at most that scope), or false (refused). */
export type AuthResult = boolean | { allow?: Scope };

export interface InProcessOptions {
  /** Drop each message with this probability (tests of repair). Default 0. */
  loss?: number;
  logger?: LinkLogger;
  /**
   * Asked once per side before linking: may `remotePeerId` link to `replica`, and what may it
   * write there? `{ allow }` links it with that scope (addPeer's allow); false or a throw links
   * nothing (AUTH_FAILED). Default: both sides accept anything.
   */
  authenticate?: (remotePeerId: number, replica: LinkableReplica) => AuthResult;
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
  const authenticate = options.authenticate;
  if (authenticate !== undefined && typeof authenticate !== "function") throw new ReplicError("INVALID_OPTION", "authenticate must be a function");
  // Both sides decide before either is linked: a refusal links nothing.
  const allowAtA = authenticate ? decide(authenticate, a, b) : undefined;
  const allowAtB = authenticate ? decide(authenticate, b, a) : undefined;
  let open = true;
  let refused = 0;
  const wire = (from: LinkableReplica, to: LinkableReplica, allow: Scope | undefined) =>
    from.addPeer(
      to.peerId,
      (bytes) => {
        if (loss > 0 && Math.random() < loss) return;
        // Copy: the sender may reuse its buffer, and a real network would not share it.
        const copy = bytes.slice();
        queueMicrotask(() => {
          if (open) safeReceive(to, from.peerId, copy, logger, () => refused++);
        });
      },
      allow === undefined ? undefined : { allow },
    );
  wire(a, b, allowAtA);
  try {
    wire(b, a, allowAtB);
  } catch (err) {
    a.removePeer(b.peerId); // an allow that does not fit b's schema (INVALID_SCOPE): no half link
    throw err;
  }
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

/** What `replica` allows `remote` (undefined: anything); AUTH_FAILED when the hook refuses. */
function decide(authenticate: NonNullable<InProcessOptions["authenticate"]>, replica: LinkableReplica, remote: LinkableReplica): Scope | undefined {
  let answer: AuthResult;
  try {
    answer = authenticate(remote.peerId, replica);
  } catch (err) {
    throw new ReplicError("AUTH_FAILED", `authenticate threw for peer ${remote.peerId} linking to ${replica.peerId}: ${(err as Error)?.message ?? err}`, { cause: err });
  }
  if (answer === true) return undefined;
  if (typeof answer === "object" && answer !== null) return answer.allow;
  throw new ReplicError("AUTH_FAILED", `authenticate refused peer ${remote.peerId} linking to ${replica.peerId}`);
}
