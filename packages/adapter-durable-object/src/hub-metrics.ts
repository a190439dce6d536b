/** The hub's transport counters (per object instance: they restart with it) and close codes. */
import { prometheusText, type MetricFamily } from "@replic/core";

/** Close codes, as @replic/transport-ws uses them (4xxx are the application's range). */
export const CLOSE = {
  normal: 1000,
  protocol: 1002,
  tooBig: 1009,
  auth: 4401,
  timeout: 4408,
  /** Over the receive budget (HTTP's 429, Too Many Requests). */
  flood: 4429,
} as const;

export interface HubCounters {
  links: number;
  authFailures: number;
  badFrames: number;
  oversized: number;
  deadLinks: number;
  slowReaders: number;
  floods: number;
  withheld: number;
  /** Replic messages the hub's replica refused, by error code. */
  refused: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
}

export function emptyCounters(): HubCounters {
  return { links: 0, authFailures: 0, badFrames: 0, oversized: 0, deadLinks: 0, slowReaders: 0, floods: 0, withheld: 0, refused: {}, bytesIn: 0, bytesOut: 0 };
}

const COUNTERS: ReadonlyArray<[Exclude<keyof HubCounters, "refused">, string, string]> = [
  ["links", "links_total", "Handshakes completed since the object started."],
  ["authFailures", "auth_failures_total", "Sockets refused by the secret or the authenticate hook."],
  ["badFrames", "bad_frames_total", "Frames refused (text, malformed, or a replic message the replica refused)."],
  ["oversized", "oversized_frames_total", "Frames over maxMessageBytes (their socket was closed)."],
  ["deadLinks", "dead_links_total", "Sockets closed for silence."],
  ["slowReaders", "slow_readers_total", "Sockets closed because our ping went unanswered for deadAfterMs (the client does not read)."],
  ["floods", "floods_total", "Sockets closed for sending over maxInboundBytesPerSecond or maxInboundFramesPerSecond (close code 4429)."],
  ["withheld", "withheld_total", "Replic messages not sent: the socket had maxBufferedBytes unacknowledged (anti-entropy repairs them)."],
  ["bytesIn", "bytes_in_total", "Bytes received on sockets."],
  ["bytesOut", "bytes_out_total", "Bytes sent on sockets."],
];

/** The hub's counters in Prometheus text, through the core's one writer (escaped labels). */
export function renderHubMetrics(c: HubCounters, linkedPeers: number): string {
  const families: MetricFamily[] = [{ name: "replic_hub_linked_peers", help: "Peers with an authenticated socket now.", type: "gauge", samples: [{ value: linkedPeers }] }];
  for (const [key, name, help] of COUNTERS) families.push({ name: `replic_hub_${name}`, help, type: "counter", samples: [{ value: c[key] }] });
  families.push({
    name: "replic_hub_refused_messages_total",
    help: "Replic messages the hub's replica refused whole, by error code.",
    type: "counter",
    samples: Object.entries(c.refused)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([code, value]) => ({ labels: { code }, value })),
  });
  return prometheusText(families);
}
