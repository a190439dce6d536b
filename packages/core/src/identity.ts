/**
 * Identity: a peer id belongs to one writer. Signs of a second writer under this replica's id —
 * a patch of our origin that we did not write, a neighbour advertising our origin beyond our
 * head, another replica opened on this database — are raised here as IDENTITY_CONFLICT (event,
 * status, metric). Nothing of the other writer is ever merged; the operator gives one of the two
 * writers a new peer id (assignNewPeerId), as a restored backup must.
 */
import { IdentityConflictError } from "./errors.js";
import type { Events } from "./events.js";
import type { Metrics } from "./metrics.js";
import type { Logger } from "./options.js";

export class IdentityGuard {
  /** The last conflict seen, for status(). */
  last: IdentityConflictError | undefined;
  count = 0;

  constructor(
    private readonly peerId: number,
    private readonly metrics: Metrics,
    private readonly events: Events,
    private readonly logger: Logger | undefined,
  ) {}

  /** Raises a conflict about `peerId` (ours, or another origin whose two writers we saw). */
  raise(message: string, peerId = this.peerId): IdentityConflictError {
    const err = new IdentityConflictError(peerId, `peer id ${peerId}: ${message}`);
    this.count++;
    this.last = err;
    this.metrics.inc("identity_conflicts_total");
    this.logger?.warn(`replic: ${err.message}`);
    this.events.emit("identity_conflict", err);
    return err;
  }
}
