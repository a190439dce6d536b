/**
 * Heartbeats, the sending side: every round each neighbour gets one. A neighbour that reads
 * version 3 gets a delta — only the heads changed since the last heartbeat sent to it, with the
 * digest of all heads — and a full heartbeat first, when it asks (its digest did not match: a
 * lost heartbeat, a restart), and every `fullHeartbeatEvery` heartbeats as a safety net. Older
 * builds get full heartbeats of their version. Each distinct message is encoded once per round
 * and its bytes shared: idle, every link was last sent the same version, so one delta serves all.
 * A link that has had our unchanged heads `QUIET_AFTER` times in a row goes quiet: one heartbeat
 * every `idleEvery` rounds until something changes. Its heads and digest already match ours (or it
 * asks, or the next one it gets carries the digest), so the silence costs neither side anything.
 */
import type { HeadsLog } from "./heads-log.js";
import type { Metrics } from "./metrics.js";
import { heartbeatVersionFor, type Link } from "./neighbours.js";
import type { Origins } from "./origins.js";
import type { Outbox } from "./outbox.js";
import { encodeWire } from "./wire/encoder.js";
import { WIRE_VERSION, type SchemaVersion } from "./wire/types.js";

export interface HeartbeatRooms {
  origins: Origins;
  log: HeadsLog;
  outbox: Outbox;
  metrics: Metrics;
  /** Full heartbeats to a version 3 neighbour every this many (1: always full). */
  fullEvery: number;
  /** A quiet link gets a heartbeat every this many rounds (1: every round). */
  idleEvery: number;
  /** The clock and schema version to stamp heartbeats with now. */
  stamp: () => { clock: number; schema: SchemaVersion };
}

/**
 * Heartbeats with unchanged heads sent before a link goes quiet: the change itself may be lost,
 * and the two after it carry the digest that lets the neighbour notice and ask.
 */
export const QUIET_AFTER = 2;

export class Heartbeats {
  /**
   * This round's full heartbeat, while the heads have not changed since: answers to heads
   * requests within a round share its bytes (over NATS, identical bytes are published once).
   */
  private full: { version: number; bytes: Uint8Array } | undefined;

  constructor(private readonly r: HeartbeatRooms) {}

  /** A new round: heartbeats from now on carry the clock of now. */
  newRound(): void {
    this.full = undefined;
  }

  /** One heartbeat to each of `links`. */
  send(links: readonly Link[]): void {
    if (links.length === 0) return;
    const { origins, log, outbox, fullEvery, idleEvery } = this.r;
    const { clock, schema } = this.r.stamp();
    log.refresh(origins);
    const digest = log.digest.hex;
    const old = new Map<number, Uint8Array>(); // full heartbeats of older versions
    const deltas = new Map<number, Uint8Array>(); // by the version last sent
    let skipped = 0;
    for (const link of links) {
      const v = heartbeatVersionFor(link);
      if (v < WIRE_VERSION) {
        let bytes = old.get(v);
        if (!bytes) old.set(v, (bytes = encodeWire({ kind: "heartbeat", clock, heads: origins.heads(), schema }, v)));
        outbox.send(link, bytes, "heartbeat");
        continue;
      }
      link.beats++;
      if (link.sentVersion < 0 || link.fullDue || link.beats % fullEvery === 0) {
        if (this.full?.version !== log.version) {
          const bytes = encodeWire({ kind: "heartbeat", clock, heads: log.heads(), schema, form: "full", digest }, WIRE_VERSION);
          this.full = { version: log.version, bytes };
        }
        this.sent(link, this.full.bytes, true);
        continue;
      }
      if (link.sentVersion !== log.version) link.unchangedSent = 0;
      else if (link.unchangedSent >= QUIET_AFTER && link.beats - link.lastSentBeat < idleEvery) {
        skipped++;
        continue;
      } else link.unchangedSent++;
      let bytes = deltas.get(link.sentVersion);
      if (!bytes) {
        bytes = encodeWire({ kind: "heartbeat", clock, heads: log.changedSince(link.sentVersion), schema, form: "delta", digest }, WIRE_VERSION);
        deltas.set(link.sentVersion, bytes);
      }
      this.sent(link, bytes, false);
    }
    if (skipped > 0) this.r.metrics.inc("heartbeats_idle_skipped_total", skipped);
  }

  /**
   * A neighbour asked for our full heads: answered at once, once a round; a second ask in the
   * same round gets its answer with the next round's heartbeat (a peer asking in a loop costs one
   * full heartbeat a round).
   */
  headsRequested(link: Link): void {
    this.r.metrics.inc("heads_requests_in_total");
    if (link.fullSent) {
      link.fullDue = true;
      return;
    }
    link.fullDue = true;
    this.send([link]);
  }

  private sent(link: Link, bytes: Uint8Array, full: boolean): void {
    this.r.outbox.send(link, bytes, "heartbeat");
    link.sentVersion = this.r.log.version;
    link.lastSentBeat = link.beats;
    if (full) {
      link.fullDue = false;
      link.fullSent = true;
      link.unchangedSent = 0;
    }
  }
}
