/**
 * Gauges derived from `replica.status()` at scrape time. Computed fresh on every scrape, so
 * series of removed peers disappear with them.
 */
import { prometheusText, type ReplicaStatus } from "@replic/core";

export function statusMetrics(status: ReplicaStatus, now: number = Date.now()): string {
  const gauge = (name: string, help: string, samples: { labels: Record<string, number>; value: number }[]) => ({
    name,
    help,
    type: "gauge" as const,
    samples: samples.map((s) => ({ labels: s.labels, value: Number.isFinite(s.value) ? s.value : 0 })),
  });
  return prometheusText([
    gauge(
      "replic_peer_last_contact_age_seconds",
      "Seconds since the last message from each linked neighbour (absent before the first one).",
      status.peers.filter((p) => p.lastContact !== null).map((p) => ({ labels: { peer: p.peerId }, value: Math.max(0, (now - p.lastContact!) / 1000) })),
    ),
    gauge(
      "replic_peer_behind_patches",
      "Patches each linked neighbour lacks that this replica holds (per its last heartbeat).",
      status.peers.map((p) => ({ labels: { peer: p.peerId }, value: p.lag })),
    ),
    gauge(
      "replic_origin_missing_patches",
      "Sequences of each origin known to exist that this replica lacks.",
      status.origins.map((o) => ({ labels: { origin: o.peerId }, value: o.missing })),
    ),
    gauge(
      "replic_origin_contiguous_sequence",
      "Highest contiguous sequence held of each origin.",
      status.origins.map((o) => ({ labels: { origin: o.peerId }, value: o.contiguous })),
    ),
  ]);
}
