/**
 * Heartbeats, the receiving side (heartbeats.ts sends them): a neighbour's heartbeat updates what
 * it holds (its heads, whole or as a delta; its clock drift and schema version), its digest is
 * checked against the heads kept (a mismatch asks for its full heads, once a round), a claim to
 * hold our own origin beyond our sequence is raised as an identity conflict (once per height),
 * and gap repair runs when there may be something to ask for. A heads request gets a full
 * heartbeat.
 */
import type { Bookkeeping } from "./bookkeeping.js";
import { msFromTimestamp, type HybridLogicalClock } from "./clock.js";
import { observeRemoteClock } from "./clock-watch.js";
import type { GapRepair } from "./gap-repair.js";
import type { Heartbeats } from "./heartbeats.js";
import type { IdentityGuard } from "./identity.js";
import type { Metrics } from "./metrics.js";
import type { Link, Neighbours } from "./neighbours.js";
import type { Logger } from "./options.js";
import type { Outbox } from "./outbox.js";
import { encodeWire } from "./wire/encoder.js";
import { WIRE_VERSION, type HeartbeatMessage } from "./wire/types.js";

export interface HeartbeatIntakeOptions {
  now: () => number;
  maxOrigins: number;
  logger: Logger | undefined;
}

export interface HeartbeatIntakeRooms {
  book: Bookkeeping;
  clock: HybridLogicalClock;
  neighbours: Neighbours;
  gaps: GapRepair;
  outbox: Outbox;
  metrics: Metrics;
  identity: IdentityGuard;
  heartbeats: Heartbeats;
  opts: HeartbeatIntakeOptions;
}

export class HeartbeatIntake {
  /** Per neighbour, the highest of our own sequence it advertised beyond ours (raised once each). */
  private readonly advertisedConflict = new Map<number, number>();

  constructor(private readonly r: HeartbeatIntakeRooms) {}

  /** A neighbour's heartbeat; one from an unlinked sender is ignored (nothing could be asked of it). */
  take(msg: HeartbeatMessage, link: Link | undefined): void {
    if (!link) return;
    const { metrics, opts, neighbours, book, identity, gaps } = this.r;
    link.clockDriftMs = msFromTimestamp(msg.clock) - opts.now();
    link.schema = msg.schema ?? null;
    metrics.set("peer_clock_drift_seconds", link.clockDriftMs / 1000, { peer: link.peerId });
    observeRemoteClock({ clock: this.r.clock, metrics, logger: opts.logger }, msg.clock, link.peerId);
    // A delta replaces the heads it carries; anything else replaces them all.
    const delta = msg.form === "delta";
    // A full heartbeat: the neighbour restarted, or its safety net. Ours to it resume, so it can
    // check our heads against their digest and ask for what it lacks.
    if (!delta) link.unchangedSent = 0;
    const ignored = delta ? neighbours.takeDelta(link, msg.heads, opts.maxOrigins) : neighbours.takeHeads(link, msg.heads, opts.maxOrigins);
    metrics.inc("heads_taken_total", msg.heads.length - ignored);
    if (ignored > 0) metrics.inc("heads_ignored_total", ignored);
    // A digest that differs: a heartbeat was lost or reordered, the sender restarted, or it lies.
    // Its full heads are asked for, once a round (never when they cannot all be kept anyway).
    if (msg.digest !== undefined && !neighbours.digestMatches(link, msg.digest)) {
      metrics.inc("heads_digest_mismatches_total");
      if (!link.truncated && !link.askedFull) {
        link.askedFull = true;
        this.r.outbox.send(link, encodeWire({ kind: "heads-request" }, WIRE_VERSION), "heads-request");
      }
    }
    const mine = link.heads.get(book.peerId);
    if (mine && mine.highest > book.seq && mine.highest > (this.advertisedConflict.get(link.peerId) ?? 0)) {
      this.advertisedConflict.set(link.peerId, mine.highest);
      identity.raise(`neighbour ${link.peerId} holds patches of this id up to ${mine.highest}, beyond this replica's own sequence ${book.seq}`);
    }
    // Repair at once when there may be something to ask for (a claim rose) or to re-ask; an idle
    // heartbeat leaves it to the round (a hub gets one heartbeat per spoke per round).
    if (!gaps.idle || neighbours.advertised.maybeBehind.size > 0) gaps.run(opts.now());
  }

  /** A neighbour's digest of our heads did not match: it gets a full heartbeat (heartbeats.ts). */
  headsRequested(link: Link | undefined): void {
    if (link) this.r.heartbeats.headsRequested(link);
  }

  forgetLink(peerId: number): void {
    this.advertisedConflict.delete(peerId);
  }
}
