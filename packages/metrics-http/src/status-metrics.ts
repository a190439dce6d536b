/**
 * Gauges derived from `replica.status()` at scrape time. Computed fresh on every scrape, so
 * series of removed peers disappear with them.
 */
import type { ReplicaStatus } from "@replic/core";

function label(v: number | string): string {
  return String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function statusMetrics(status: ReplicaStatus, now: number = Date.now()): string {
  const out: string[] = [];
  const family = (name: string, help: string, series: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of series) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  family(
    "replic_peer_last_contact_age_seconds",
    "Seconds since the last message from each linked neighbour (absent before the first one).",
    status.peers.filter((p) => p.lastContact !== null).map((p) => [`{peer="${label(p.peerId)}"}`, Math.max(0, (now - p.lastContact!) / 1000)]),
  );
  family(
    "replic_peer_behind_patches",
    "Patches each linked neighbour lacks that this replica holds (per its last heartbeat).",
    status.peers.map((p) => [`{peer="${label(p.peerId)}"}`, p.lag]),
  );
  family(
    "replic_origin_missing_patches",
    "Sequences of each origin known to exist that this replica lacks.",
    status.origins.map((o) => [`{origin="${label(o.peerId)}"}`, o.missing]),
  );
  family(
    "replic_origin_contiguous_sequence",
    "Highest contiguous sequence held of each origin.",
    status.origins.map((o) => [`{origin="${label(o.peerId)}"}`, o.contiguous]),
  );
  return out.join("\n") + "\n";
}
