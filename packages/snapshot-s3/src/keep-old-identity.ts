/**
 * Before a restored copy takes a new peer id, the patches it holds of the id it had stay
 * known as an origin: otherwise the copy would advertise 0 for that origin and fetch every one
 * of them again by catch-up, which is what a snapshot is meant to avoid. Reads the heads through
 * a replica opened on the copy and writes them where the core keeps remote heads.
 *
 * Fallback until `assignNewPeerId` does this itself (requested from the core): it relies on the
 * core's `_replic_peers (peerId, contiguous, highest, retainedFrom)` layout.
 */
import { createReplica, type SqliteDriver } from "@replic/core";

export function keepOldIdentityAsOrigin(driver: SqliteDriver): void {
  const replica = createReplica(driver, { heartbeatMs: 0 });
  let own;
  try {
    const s = replica.status();
    own = s.origins.find((o) => o.peerId === s.peerId);
  } finally {
    replica.close();
  }
  if (!own || own.highest === 0) return;
  driver
    .prepare(
      `INSERT INTO _replic_peers (peerId, contiguous, highest, retainedFrom) VALUES (?, ?, ?, ?)
       ON CONFLICT (peerId) DO UPDATE SET contiguous = excluded.contiguous, highest = excluded.highest, retainedFrom = excluded.retainedFrom`,
    )
    .run([own.peerId, own.contiguous, own.highest, own.retainedFrom]);
}
