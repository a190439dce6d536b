/** Counters of one NATS membership, as Prometheus text (prefix `replic_nats_`). */
import { prometheusText } from "@replic/core";

export class NatsCounters {
  members = 0;
  reconnects = 0;
  bytesIn = 0;
  bytesOut = 0;
  publishedCluster = 0;
  publishedDirect = 0;
  relaysSuppressed = 0;
  badFrames = 0;
  oversized = 0;
  publishErrors = 0;
  /** Hellos sent directly to members while nothing else was published (liveness). */
  keepAlives = 0;
  /** Dials whose credentials the server refused. */
  authFailures = 0;
  /** Members the authenticate hook refused (asked again after silenceMs). */
  peersRefused = 0;
}

const SERIES: Array<[keyof NatsCounters, string, "gauge" | "counter", string]> = [
  ["members", "members", "gauge", "Peers heard on the cluster subject and linked"],
  ["reconnects", "reconnects_total", "counter", "Reconnections to the NATS server"],
  ["bytesIn", "bytes_in_total", "counter", "Bytes received"],
  ["bytesOut", "bytes_out_total", "counter", "Bytes published"],
  ["publishedCluster", "published_cluster_total", "counter", "Messages published once to the cluster subject"],
  ["publishedDirect", "published_direct_total", "counter", "Messages published to one peer's subject"],
  ["relaysSuppressed", "relays_suppressed_total", "counter", "Relays not sent: every member hears the cluster subject itself"],
  ["badFrames", "bad_frames_total", "counter", "Messages refused by a decoder or the replica"],
  ["oversized", "oversized_total", "counter", "Messages over the server's max_payload, not sent"],
  ["publishErrors", "publish_errors_total", "counter", "Publishes that failed"],
  ["keepAlives", "keepalives_total", "counter", "Hellos sent to each member directly after half of silenceMs without publishing on the cluster subject"],
  ["authFailures", "auth_failures_total", "counter", "Dials whose credentials the NATS server refused"],
  ["peersRefused", "peers_refused_total", "counter", "Members the authenticate hook refused to link"],
];

export function renderNatsMetrics(c: NatsCounters, labels: Record<string, string>): string {
  return prometheusText(SERIES.map(([key, name, type, help]) => ({ name: `replic_nats_${name}`, type, help, samples: [{ labels, value: c[key] }] })));
}
