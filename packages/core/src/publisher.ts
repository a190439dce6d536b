/**
 * publish: the one step after COMMIT, for every way patches enter the database (local writes,
 * received messages, released holds, a migration's replay). In order: counters, identity
 * conflicts, our own head, waiters, the `merge` event (emitted here and nowhere else), what goes
 * out (a local batch to everyone, relays, send-backs), then gap repair's next window.
 */
import type { Effects } from "./effects.js";
import type { Events } from "./events.js";
import type { GapRepair } from "./gap-repair.js";
import type { IdentityGuard } from "./identity.js";
import type { MetricName } from "./metric-names.js";
import type { Metrics } from "./metrics.js";
import { versionFor, type Neighbours } from "./neighbours.js";
import type { Origins } from "./origins.js";
import type { Outbox } from "./outbox.js";
import type { LocalPatch } from "./replicated-table.js";
import type { SqlValue } from "./driver.js";
import type { Waiters } from "./waiters.js";

export interface PublishRooms {
  origins: Origins;
  neighbours: Neighbours;
  outbox: Outbox;
  waiters: Waiters;
  events: Events;
  metrics: Metrics;
  identity: IdentityGuard;
  gaps: GapRepair;
  ownPeerId: number;
  maxBatchPatches: number;
  now: () => number;
}

export class Publisher {
  constructor(private readonly r: PublishRooms) {}

  publish(e: Effects, ownSeq: number): void {
    const { metrics, identity, waiters, events, outbox, origins, gaps, neighbours } = this.r;
    for (const name in e.counts) metrics.inc(name as MetricName, e.counts[name as MetricName]!);
    if (e.ownConflict) identity.raise(e.ownConflict);
    if (e.rows.length > 0 && events.has("parked")) for (const c of e.rows) events.emit("parked", c);
    for (const [origin, n] of e.conflicting) {
      identity.raise(`${n} patch(es) differ from the stored ones under the same sequence: two writers use this id`, origin);
    }
    if (e.local) {
      if (e.written === 0) return;
      const own = origins.get(this.r.ownPeerId);
      own.contiguous = ownSeq;
      own.highest = ownSeq;
      waiters.advance(this.r.ownPeerId, ownSeq);
      if (events.has("merge")) events.emit("merge", { local: true, patches: e.written, tables: e.tables ?? [], keys: e.keys ?? Object.create(null) });
      if (e.outgoing && neighbours.size > 0) {
        // Encoded once per wire version in use, shared by every link of that version.
        const byVersion = new Map<number, Uint8Array[]>();
        for (const link of neighbours.links.values()) {
          const v = versionFor(link);
          let messages = byVersion.get(v);
          if (!messages) byVersion.set(v, (messages = e.outgoing(v)));
          for (const m of messages) outbox.send(link, m, "patches");
        }
      }
      outbox.flush();
      return;
    }
    if (e.from && e.sendBack.length > 0) outbox.push([e.from], e.sendBack);
    if (e.replaced.length > 0) outbox.push([...neighbours.links.values()].filter((l) => l !== e.from), e.replaced);
    const changed = e.replaced.length > 0 || e.replayed.length > 0 ? [...e.merged, ...e.replaced, ...e.replayed] : e.merged;
    if ((changed.length > 0 || e.keys) && events.has("merge")) {
      const { tables, keys } = touchedRows(changed, e.keys);
      if (tables.length > 0) events.emit("merge", { local: false, patches: changed.length + e.fromStore, tables, keys });
    }
    if (e.merged.length === 0 && e.kept.length === 0 && e.parked === 0 && e.fromStore === 0) return;
    for (const id of e.advanced) waiters.advance(id, origins.contiguous(id));
    const now = this.r.now();
    gaps.settle(now);
    outbox.relay(e.merged, e.from, e.alienOf, e.kept);
    // Streaming catch-up: ask for the next window as soon as this one landed.
    if (gaps.idle || e.merged.length + e.fromStore + e.parked >= this.r.maxBatchPatches) gaps.run(now);
  }
}

/** The tables and row keys some patches touched, and the rows of `more`, for the merge event. */
export function touchedRows(patches: readonly LocalPatch[], more?: Record<string, SqlValue[][]>): { tables: string[]; keys: Record<string, SqlValue[][]> } {
  const keys: Record<string, SqlValue[][]> = Object.create(null);
  for (const p of patches) (keys[p.table.name] ??= []).push(p.table.keyOf(p.cols, p.values));
  for (const t in more) for (const k of more[t]!) (keys[t] ??= []).push(k);
  return { tables: Object.keys(keys), keys };
}
