/**
 * Per-link counters of the transport and their Prometheus text exposition (prefix
 * `replic_ws_`), next to the replica's own `replic_` metrics.
 */
import { prometheusText } from "@replic/core";
export class LinkCounters {
  /** Live, authenticated links (a gauge: 0 or 1 for a client, the live count for a server key). */
  connected = 0;
  /** Links re-established after a loss. */
  reconnects = 0;
  bytesIn = 0;
  bytesOut = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** Wrong secret, hook refusal, data before authentication. */
  authFailures = 0;
  /** Replic messages not sent because the socket's send buffer was over its bound. */
  dropped = 0;
  /** Largest socket send buffer seen when sending (bytes): stays near maxBufferedBytes. */
  sendBufferPeak = 0;
  /** Frames refused by a decoder (transport or replic) or by the replica. */
  badFrames = 0;
  /** Frames over maxMessageBytes (each closes its link). */
  oversized = 0;
  /** Links closed because nothing arrived within deadAfterMs. */
  deadLinks = 0;
}

const SERIES: Array<[keyof LinkCounters, string, "gauge" | "counter", string]> = [
  ["connected", "connected", "gauge", "Live authenticated WebSocket links"],
  ["reconnects", "reconnects_total", "counter", "Links re-established after a loss"],
  ["bytesIn", "bytes_in_total", "counter", "Bytes received"],
  ["bytesOut", "bytes_out_total", "counter", "Bytes sent"],
  ["messagesIn", "messages_in_total", "counter", "Frames received"],
  ["messagesOut", "messages_out_total", "counter", "Frames sent"],
  ["authFailures", "auth_failures_total", "counter", "Connections refused by authentication"],
  ["dropped", "dropped_total", "counter", "Replic messages dropped by back-pressure (anti-entropy repairs them)"],
  ["sendBufferPeak", "send_buffer_peak_bytes", "gauge", "Largest socket send buffer seen when sending"],
  ["badFrames", "bad_frames_total", "counter", "Frames refused by a decoder or the replica"],
  ["oversized", "oversized_total", "counter", "Frames over the size limit (link closed)"],
  ["deadLinks", "dead_links_total", "counter", "Links closed after silence longer than deadAfterMs"],
];

export type MetricLabels = Record<string, string>;

/** Prometheus text for many labelled LinkCounters. */
export function renderMetrics(entries: Array<[MetricLabels, LinkCounters]>, prefix = "replic_ws_"): string {
  return prometheusText(
    SERIES.map(([key, name, type, help]) => ({
      name: prefix + name,
      type,
      help,
      samples: entries.map(([labels, c]) => ({ labels, value: c[key] })),
    })),
  );
}
