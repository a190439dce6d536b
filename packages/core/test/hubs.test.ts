/**
 * A hub and its spokes: what an idle heartbeat costs the hub must not grow with the number of
 * origins (counted in operations, not time), and 200 spokes on one hub converge after writes.
 * Loopback in memory, manual rounds (heartbeatMs 0), one clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, type Replica } from "../src/index.js";
import { testDriver } from "./helpers.js";

const NOTES = `
CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);
CREATE TABLE notes_patches (id TEXT, body TEXT,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
  PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID;
CREATE INDEX notes_patches_row ON notes_patches (id, _patchedAt, _peerId, _sequenceId);`;
const MIGRATIONS = [{ up: NOTES, down: "DROP TABLE notes_patches; DROP TABLE notes;" }];
const HUB = 1;

const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});

function star(spokes: number, options: Record<string, unknown> = {}) {
  const wall = { t: 1_800_000_000_000 };
  const make = (peerId: number) => {
    const r = createReplica(testDriver(), { peerId, heartbeatMs: 0, now: () => wall.t, fullHeartbeatEvery: 1000, ...options });
    r.migrate(MIGRATIONS);
    opened.push(r);
    return r;
  };
  const hub = make(HUB);
  const ids = Array.from({ length: spokes }, (_, i) => 100 + i);
  const spoke = new Map(ids.map((id) => [id, make(id)]));
  const queue: Array<[Replica, number, Uint8Array]> = [];
  for (const [id, s] of spoke) {
    hub.addPeer(id, (b) => void queue.push([s, HUB, b]));
    s.addPeer(HUB, (b) => void queue.push([hub, id, b]));
  }
  /** The last message queued is lost. */
  const dropLast = () => void queue.pop();
  const drain = () => {
    while (queue.length > 0) {
      const [to, from, bytes] = queue.shift()!;
      to.receive(from, bytes);
    }
  };
  const round = () => {
    wall.t += 1000;
    for (const s of spoke.values()) s.tick();
    drain();
    hub.tick();
    drain();
  };
  const metric = (r: Replica, name: string) => Number(/^replic_\S+ (\S+)$/m.exec(r.metrics().split("\n").find((l) => l.startsWith(`replic_${name} `)) ?? "")?.[1] ?? NaN);
  return { hub, spoke, round, drain, dropLast, metric, wall };
}

/** Operations on the hub in one idle round, per heartbeat it received. */
function idleWorkPerHeartbeat(spokes: number) {
  // Every link gets a heartbeat every round here (no quiet links): the cost of one is measured.
  const x = star(spokes, { idleHeartbeatEvery: 1 });
  for (const [id, s] of x.spoke) s.upsert("notes", { id: `n${id}`, body: "x" });
  x.drain();
  for (let i = 0; i < 4; i++) x.round();
  for (const s of x.spoke.values()) expect(s.status().origins.length).toBe(spokes);
  const hubNeighbours = (x.hub as unknown as { neighbours: { advertised: { work: number } } }).neighbours;
  const names = ["heads_taken_total", "repair_origins_examined_total", "heads_digest_mismatches_total", "gaps_requested_total", "bytes_in_total", "bytes_out_total", "messages_in_total"];
  const before = names.map((n) => x.metric(x.hub, n));
  const indexWork = hubNeighbours.advertised.work;
  x.round();
  const after = names.map((n) => x.metric(x.hub, n));
  const d = Object.fromEntries(names.map((n, i) => [n, after[i]! - before[i]!]));
  return {
    heartbeats: spokes,
    headsTaken: d.heads_taken_total! / spokes,
    originsExamined: d.repair_origins_examined_total! / spokes,
    indexWork: (hubNeighbours.advertised.work - indexWork) / spokes,
    mismatches: d.heads_digest_mismatches_total!,
    gapRequests: d.gaps_requested_total!,
    bytesInPerSpoke: d.bytes_in_total! / spokes,
    bytesOutPerSpoke: d.bytes_out_total! / spokes,
  };
}

describe("a hub's idle work does not grow with the number of origins", () => {
  it("an idle round: no head taken, no origin examined, no index update, bytes per spoke the same at 8 and 64 spokes", () => {
    const small = idleWorkPerHeartbeat(8);
    const large = idleWorkPerHeartbeat(64);
    for (const w of [small, large]) {
      expect(w.headsTaken).toBe(0);
      expect(w.originsExamined).toBe(0);
      expect(w.indexWork).toBe(0);
      expect(w.mismatches).toBe(0);
      expect(w.gapRequests).toBe(0);
    }
    // An idle delta is the same size whatever the number of origins (the clock is one varint).
    expect(large.bytesInPerSpoke).toBe(small.bytesInPerSpoke);
    expect(large.bytesOutPerSpoke).toBe(small.bytesOutPerSpoke);
    expect(large.bytesInPerSpoke).toBeLessThan(40);
  }, 60_000);

  it("one write costs the hub one head per spoke that relayed it, whatever the number of origins", () => {
    for (const spokes of [8, 48]) {
      const x = star(spokes);
      for (const [id, s] of x.spoke) s.upsert("notes", { id: `n${id}`, body: "x" });
      x.drain();
      for (let i = 0; i < 4; i++) x.round();
      const before = x.metric(x.hub, "heads_taken_total");
      x.spoke.get(100)!.upsert("notes", { id: "again", body: "y" });
      x.drain();
      x.round();
      // Every spoke's next delta carries the one changed origin (the writer's own included).
      expect(x.metric(x.hub, "heads_taken_total") - before).toBe(spokes);
    }
  }, 60_000);
});

describe("quiet links: an idle hub sends and receives one heartbeat per spoke every `idleHeartbeatEvery` rounds", () => {
  it("after a write, the change and two more heartbeats each way, then one per spoke every 5 rounds", () => {
    const x = star(16, { idleHeartbeatEvery: 5 });
    for (const [id, s] of x.spoke) s.upsert("notes", { id: `n${id}`, body: "x" });
    x.drain();
    const heartbeats = () => {
      const text = x.hub.metrics();
      const n = (dir: string) => Number(new RegExp(`^replic_messages_${dir}_total\\{kind="heartbeat"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
      return n("in") + n("out");
    };
    const counts: number[] = [];
    for (let i = 0; i < 14; i++) {
      const before = heartbeats();
      x.round();
      counts.push(heartbeats() - before);
    }
    // Rounds 1-3 carry a heartbeat each way per spoke (the first ones full), then rounds 8 and 13.
    expect(counts).toEqual([32, 32, 32, 0, 0, 0, 0, 32, 0, 0, 0, 0, 32, 0]);
    expect(x.metric(x.hub, "heartbeats_idle_skipped_total")).toBe(16 * 9);
  }, 60_000);

  it("a write whose patch and next three heartbeats are all lost still reaches the hub, by the quiet link's next heartbeat", () => {
    const x = star(4, { idleHeartbeatEvery: 6 });
    for (const [id, s] of x.spoke) s.upsert("notes", { id: `n${id}`, body: "x" });
    x.drain();
    for (let i = 0; i < 4; i++) x.round();
    const writer = x.spoke.get(101)!;
    const token = writer.upsert("notes", { id: "late", body: "lost" });
    const seq = Number(token.split(".")[1]);
    const hubHolds = () => x.hub.status().origins.find((o) => o.peerId === 101)?.contiguous ?? 0;
    // The patch and the writer's next three heartbeats to the hub are lost.
    const dropFromWriter = (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        x.wall.t += 1000;
        for (const [id, s] of x.spoke) {
          s.tick();
          if (id === 101) x.dropLast();
        }
        x.drain();
        x.hub.tick();
        x.drain();
      }
    };
    x.dropLast();
    dropFromWriter(3);
    expect(hubHolds()).toBeLessThan(seq);
    let rounds = 0;
    while (hubHolds() < seq && rounds < 10) {
      x.round();
      rounds++;
    }
    expect(hubHolds()).toBe(seq);
    expect(rounds).toBeLessThanOrEqual(6);
    for (const s of x.spoke.values()) expect(s.status().origins.find((o) => o.peerId === 101)?.contiguous).toBe(seq);
  }, 60_000);
});

describe("200 spokes on one hub", () => {
  it("converge after every spoke writes, and after one more write reaches every spoke", () => {
    const memBefore = process.memoryUsage().heapUsed;
    const x = star(200, { fullHeartbeatEvery: 60 });
    const memLinked = process.memoryUsage().heapUsed;
    for (const [id, s] of x.spoke) s.upsert("notes", { id: `n${id}`, body: `from ${id}` });
    x.drain();
    const rowsOf = (r: Replica) => (r as unknown as { driver: { db: { prepare(s: string): { get(): { n: number } } } } }).driver.db.prepare("SELECT count(*) AS n FROM notes").get().n;
    expect(rowsOf(x.hub)).toBe(200);
    for (const s of x.spoke.values()) expect(rowsOf(s)).toBe(200);
    const token = x.spoke.get(150)!.upsert("notes", { id: "last", body: "z" });
    x.drain();
    for (const s of x.spoke.values()) expect(s.status().origins.find((o) => o.peerId === 150)?.contiguous).toBe(Number(token.split(".")[1]));
    for (let i = 0; i < 3; i++) x.round();
    expect(x.metric(x.hub, "heads_digest_mismatches_total")).toBe(0);
    const memIdle = process.memoryUsage().heapUsed;
    console.log(`200 spokes: heap ${((memLinked - memBefore) / 1e6).toFixed(1)} MB for 201 replicas linked, ${((memIdle - memLinked) / 200 / 1e3).toFixed(1)} kB per spoke after writes and 3 rounds (hub and spokes in one process)`);
  }, 120_000);
});
