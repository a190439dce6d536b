/** The hub's transport counters (per object instance: they restart with it) and close codes. */

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

export function renderHubMetrics(c: HubCounters, linkedPeers: number): string {
  const lines: string[] = [];
  const counter = (name: string, help: string, v: number) => {
    lines.push(`# HELP replic_hub_${name} ${help}`, `# TYPE replic_hub_${name} counter`, `replic_hub_${name}_total ${v}`);
  };
  lines.push("# HELP replic_hub_linked_peers Peers with an authenticated socket now.", "# TYPE replic_hub_linked_peers gauge", `replic_hub_linked_peers ${linkedPeers}`);
  counter("links", "Handshakes completed since the object started.", c.links);
  counter("auth_failures", "Sockets refused by the secret or the authenticate hook.", c.authFailures);
  counter("bad_frames", "Frames refused (text, malformed, or a replic message the replica refused).", c.badFrames);
  counter("oversized_frames", "Frames over maxMessageBytes (their socket was closed).", c.oversized);
  counter("dead_links", "Sockets closed for silence.", c.deadLinks);
  counter("slow_readers", "Sockets closed because our ping went unanswered for deadAfterMs (the client does not read).", c.slowReaders);
  counter("floods", "Sockets closed for sending over maxInboundBytesPerSecond or maxInboundFramesPerSecond (close code 4429).", c.floods);
  counter("withheld", "Replic messages not sent: the socket had maxBufferedBytes unacknowledged (anti-entropy repairs them).", c.withheld);
  lines.push("# HELP replic_hub_refused_messages Replic messages the hub's replica refused whole, by error code.", "# TYPE replic_hub_refused_messages counter");
  for (const [code, n] of Object.entries(c.refused).sort()) lines.push(`replic_hub_refused_messages_total{code="${code}"} ${n}`);
  counter("bytes_in", "Bytes received on sockets.", c.bytesIn);
  counter("bytes_out", "Bytes sent on sockets.", c.bytesOut);
  return lines.join("\n") + "\n";
}
