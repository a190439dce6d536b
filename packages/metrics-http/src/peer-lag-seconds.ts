/**
 * Per-neighbour lag in seconds: the age of the oldest patch this replica holds that the
 * neighbour lacks (by its last heartbeat), 0 when it lacks nothing. Needs the database to read
 * that patch's `_patchedAt` (milliseconds are its high bits); one indexed lookup per neighbour,
 * origin and table.
 */
import { msFromTimestamp, prometheusText, type MetricSample, type ReplicaStatus, type SqliteDriver, type SqliteStatement } from "@replic/core";

export function peerLagSeconds(status: ReplicaStatus, driver: SqliteDriver, now: number = Date.now()): string {
  const stmts: SqliteStatement[] = status.tables.map((t) =>
    driver.prepare(`SELECT "_patchedAt" FROM "${`${t}_patches`.replace(/"/g, '""')}" WHERE "_peerId" = ? AND "_sequenceId" = ?`),
  );
  const patchedAt = (origin: number, seq: number): number | undefined => {
    for (const s of stmts) {
      const row = s.get([origin, seq]);
      if (row) return Number(row[0]);
    }
    return undefined;
  };
  const samples: MetricSample[] = [];
  for (const p of status.peers) {
    if (p.lastContact === null) continue; // no heartbeat yet: what it holds is unknown
    let oldest = Infinity;
    for (const o of status.origins) {
      const theirs = p.heads.find((h) => h.peerId === o.peerId)?.contiguous ?? 0;
      if (theirs >= o.contiguous) continue;
      const ts = patchedAt(o.peerId, theirs + 1);
      if (ts !== undefined) oldest = Math.min(oldest, msFromTimestamp(ts));
    }
    samples.push({ labels: { peer: p.peerId }, value: oldest === Infinity ? 0 : Math.max(0, (now - oldest) / 1000) });
  }
  return prometheusText([
    {
      name: "replic_peer_lag_seconds",
      help: "Age of the oldest patch this replica holds that each neighbour lacks (0 when it lacks none), seconds.",
      type: "gauge",
      samples,
    },
  ]);
}
