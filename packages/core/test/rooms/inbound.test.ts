// The received-message path (src/inbound.ts), pinned through a replica on an in-memory database:
// every classification of a received patch (merged, duplicate, own echo, own conflict, two
// writers under one id, too old, far future, held full, alien), what each one counts, sends,
// emits and stores, the heartbeat and request paths, the release of held patches, and the
// rollback of a message that fails inside its transaction.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createReplica,
  decodeMessage,
  encodeMessage,
  encodeWire,
  timestampFromMs,
  type IdentityConflictError,
  type Message,
  type MergeEvent,
  type Replica,
  type ReplicaOptions,
  type SqlValue,
} from "../../src/index.js";
import type { SqliteDriver } from "../../src/driver.js";
import { testDriver } from "../helpers.js";
import { ITEMS_DDL } from "../sim.js";

const MIGRATIONS = [{ up: ITEMS_DDL, down: "DROP TABLE items_patches; DROP TABLE items;" }];
const T0 = 1_700_000_000_000;
let now = T0;
const ts = (ms: number) => timestampFromMs(ms);

/** A driver whose statements throw while `fail` matches their SQL (fault injection). */
function faultyDriver() {
  const d = testDriver();
  const ctl = { fail: undefined as RegExp | undefined };
  const driver: SqliteDriver = {
    name: d.name,
    exec: (sql) => d.exec(sql),
    prepare(sql) {
      const s = d.prepare(sql);
      const check = () => {
        if (ctl.fail?.test(sql)) throw new Error(`injected failure: ${sql.slice(0, 40)}`);
      };
      return {
        run: (p) => (check(), s.run(p)),
        get: (p) => (check(), s.get(p)),
        all: (p) => (check(), s.all(p)),
      };
    },
  };
  return { driver, db: d.db, ctl };
}

const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
  now = T0;
});

function open(id = 1, options: ReplicaOptions = {}, d: { driver: SqliteDriver; db: ReturnType<typeof testDriver>["db"] } = wrap(testDriver())) {
  const warnings: string[] = [];
  const debugs: string[] = [];
  const r = createReplica(d.driver, {
    peerId: id,
    heartbeatMs: 0,
    retentionMs: 0,
    now: () => now,
    logger: { warn: (m) => void warnings.push(m), debug: (m) => void debugs.push(m) },
    ...options,
  });
  opened.push(r);
  r.migrate(MIGRATIONS);
  const merges: MergeEvent[] = [];
  const conflicts: IdentityConflictError[] = [];
  r.on("merge", (e) => void merges.push(e));
  r.on("identity_conflict", (e) => void conflicts.push(e));
  const sent = new Map<number, Message[]>();
  const link = (peer: number) => {
    sent.set(peer, []);
    r.addPeer(peer, (b) => void sent.get(peer)!.push(decodeMessage(b)));
    return sent.get(peer)!;
  };
  const rows = () => d.db.prepare("SELECT id, name, qty FROM items ORDER BY id").raw(true).all();
  const patchRows = () => d.db.prepare("SELECT id, name, qty, _patchedAt, _sequenceId, _peerId FROM items_patches ORDER BY _peerId, _sequenceId").raw(true).all();
  const metric = (name: string, labels = "") => {
    const line = r.metrics().split("\n").find((l) => l.startsWith(`replic_${name}${labels} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };
  const origin = (peerId: number) => r.status().origins.find((o) => o.peerId === peerId);
  return { r, db: d.db, warnings, debugs, merges, conflicts, link, rows, patchRows, metric, origin };
}
function wrap(d: ReturnType<typeof testDriver>) {
  return { driver: d as SqliteDriver, db: d.db };
}

interface P {
  peer: number;
  seq: number;
  at: number;
  row: Record<string, SqlValue>;
  table?: string;
}
function msg(...ps: P[]): Uint8Array {
  return encodeMessage({
    kind: "patches",
    patches: ps.map((p) => ({ table: p.table ?? "items", peerId: p.peer, seq: p.seq, patchedAt: ts(p.at), values: p.row })),
  });
}
const heartbeat = (clockMs: number, heads: { peerId: number; contiguous: number; highest: number; retainedFrom?: number }[], schema?: { version: number; hash: number }) =>
  encodeWire({ kind: "heartbeat", clock: ts(clockMs), heads: heads.map((h) => ({ retainedFrom: 1, ...h })), ...(schema ? { schema } : {}) });
const seqsOf = (m: Message | undefined) => (m?.kind === "patches" ? m.patches.map((p) => `${p.peerId}.${p.seq}`) : []);

describe("receive: decoding and accounting", () => {
  it("counts bytes and messages by kind, and notes when a linked neighbour was last heard", () => {
    const x = open();
    x.link(2);
    const bytes = msg({ peer: 2, seq: 1, at: T0 - 10, row: { id: 1, name: "a" } });
    now = T0 + 5;
    x.r.receive(2, bytes);
    expect(x.metric("bytes_in_total")).toBe(bytes.length);
    expect(x.metric("messages_in_total", '{kind="patches"}')).toBe(1);
    expect(x.r.status().peers[0]!.lastContact).toBe(T0 + 5);
    x.r.receive(3, encodeWire({ kind: "request", ranges: [] }));
    expect(x.metric("messages_in_total", '{kind="request"}')).toBe(1);
    expect(x.metric("bytes_in_total")).toBeGreaterThan(bytes.length);
    expect(x.r.status().peers).toHaveLength(1);
  });

  it("a message that does not decode throws DECODE, counts as a decode error, and writes nothing", () => {
    const x = open();
    const bytes = msg({ peer: 2, seq: 1, at: T0, row: { id: 1, name: "a" } });
    bytes[bytes.length - 1]! ^= 0xff;
    expect(() => x.r.receive(2, bytes)).toThrow(expect.objectContaining({ code: "DECODE" }));
    expect(() => x.r.receive(2, null as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: "DECODE" }));
    expect(x.metric("decode_errors_total")).toBe(2);
    expect(x.metric("bytes_in_total")).toBe(bytes.length);
    expect(x.metric("receive_errors_total")).toBe(0);
    expect(x.metric("messages_in_total", '{kind="patches"}')).toBeUndefined();
    expect(x.rows()).toEqual([]);
  });

  it("a message refused after decoding (bad value) throws its typed error, counts it, and writes nothing", () => {
    const x = open();
    const bytes = msg({ peer: 2, seq: 1, at: T0, row: { id: 1, name: "a" } }, { peer: 2, seq: 2, at: T0, row: { id: 2, name: 2.5 } });
    expect(() => x.r.receive(2, bytes)).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH" }));
    expect(x.metric("receive_errors_total")).toBe(1);
    expect(x.metric("messages_in_total", '{kind="patches"}')).toBe(1);
    expect(x.rows()).toEqual([]);
    expect(x.r.status().origins.map((o) => o.peerId)).toEqual([1]);
  });
});

describe("receive: merging patches", () => {
  it("merges a patch: row, patch row, heads, clock, counters, merge event, persisted heads", async () => {
    const d = testDriver();
    const x = open(1, {}, wrap(d));
    const wait = x.r.waitFor("2.2", 1000);
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 7, name: "a", qty: 3 } }, { peer: 2, seq: 2, at: T0 - 4, row: { id: 8, name: "b" } }));
    await wait;
    expect(x.rows()).toEqual([
      [7, "a", 3],
      [8, "b", null],
    ]);
    expect(x.patchRows()).toEqual([
      [7, "a", 3, ts(T0 - 5), 1, 2],
      [8, "b", null, ts(T0 - 4), 2, 2],
    ]);
    expect(x.origin(2)).toMatchObject({ contiguous: 2, highest: 2, held: 0 });
    expect(x.r.status().clock).toBe(ts(T0 - 4));
    expect(x.metric("patches_applied_total")).toBe(2);
    expect(x.metric("patches_duplicate_total")).toBe(0);
    expect(x.metric("patches_released_total")).toBe(0);
    expect(x.metric("patches_alien_kept_total")).toBe(0);
    expect(x.merges).toEqual([{ local: false, patches: 2, tables: ["items"], keys: { items: [[7], [8]] } }]);
    // Heads and the clock were persisted in the same transaction: a reopened replica has them.
    x.r.close();
    const again = createReplica(d, { peerId: 1, heartbeatMs: 0, now: () => now });
    opened.push(again);
    expect(again.status().origins.find((o) => o.peerId === 2)).toMatchObject({ contiguous: 2, highest: 2 });
    expect(again.status().clock).toBe(ts(T0 - 4));
  });

  it("a sequence repeated inside one message is merged once, whether the origin's sequences rise or not", () => {
    const x = open();
    // Rising, then a repeat of an earlier one and a reordered new one: one set, built at the first drop.
    x.r.receive(
      2,
      msg(
        { peer: 2, seq: 1, at: T0 - 9, row: { id: 1, name: "a" } },
        { peer: 3, seq: 1, at: T0 - 9, row: { id: 9, name: "x" } },
        { peer: 2, seq: 3, at: T0 - 7, row: { id: 3, name: "c" } },
        { peer: 2, seq: 1, at: T0 - 9, row: { id: 1, name: "a" } },
        { peer: 2, seq: 2, at: T0 - 8, row: { id: 2, name: "b" } },
        { peer: 3, seq: 1, at: T0 - 9, row: { id: 9, name: "x" } },
        { peer: 2, seq: 2, at: T0 - 8, row: { id: 2, name: "b" } },
        { peer: 2, seq: 4, at: T0 - 6, row: { id: 4, name: "d" } },
      ),
    );
    expect(x.rows()).toEqual([
      [1, "a", null],
      [2, "b", null],
      [3, "c", null],
      [4, "d", null],
      [9, "x", null],
    ]);
    expect(x.metric("patches_applied_total")).toBe(5);
    expect(x.metric("patches_duplicate_total")).toBe(3);
    expect(x.origin(2)).toMatchObject({ contiguous: 4, highest: 4 });
    expect(x.merges).toEqual([{ local: false, patches: 5, tables: ["items"], keys: { items: [[1], [9], [3], [2], [4]] } }]);
  });

  it("follows the highest stamp of a message, whatever the order", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 4, row: { id: 1 } }, { peer: 2, seq: 2, at: T0 - 5, row: { id: 2 } }));
    expect(x.r.status().clock).toBe(ts(T0 - 4));
  });

  it("a late patch loses to the newer one already merged, also on a timestamp tie", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 3, seq: 1, at: T0 - 10, row: { id: 1, name: "new" } }));
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 50, row: { id: 1, name: "old", qty: 1 } }));
    expect(x.rows()).toEqual([[1, "new", 1]]);
    // Equal stamps: the higher peer id wins (3 over 2).
    x.r.receive(2, msg({ peer: 2, seq: 2, at: T0 - 10, row: { id: 1, name: "tie" } }));
    expect(x.rows()).toEqual([[1, "new", 1]]);
  });

  it("the newest stamp seen is remembered: a later, older patch is merged as late", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 10, row: { id: 1, name: "new" } }));
    x.r.receive(2, msg({ peer: 3, seq: 1, at: T0 - 50, row: { id: 5 } }));
    x.r.receive(2, msg({ peer: 4, seq: 1, at: T0 - 30, row: { id: 1, name: "old" } }));
    expect(x.rows()).toEqual([
      [1, "new", null],
      [5, null, null],
    ]);
  });

  it("does not follow a clock beyond the drift bound, and says so", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    x.link(2);
    x.r.receive(2, heartbeat(T0 + 5000, []));
    expect(x.r.status().clock).toBeLessThan(ts(T0));
    expect(x.metric("clock_drift_rejections_total")).toBe(1);
    expect(x.debugs).toEqual(["replic: remote clock 5000 ms ahead (peer 2); not followed"]);
    x.r.receive(2, heartbeat(T0 + 1000, []));
    expect(x.r.status().clock).toBe(ts(T0 + 1000));
    expect(x.metric("clock_drift_rejections_total")).toBe(1);
  });

  it("a patch repeated inside one message is merged once and counted as a duplicate", () => {
    const x = open();
    const p = { peer: 2, seq: 1, at: T0 - 5, row: { id: 1, name: "a" } };
    x.r.receive(2, msg(p, { peer: 2, seq: 2, at: T0 - 4, row: { id: 2, name: "b" } }, p));
    expect(x.rows()).toEqual([
      [1, "a", null],
      [2, "b", null],
    ]);
    expect(x.patchRows()).toHaveLength(2);
    expect(x.metric("patches_applied_total")).toBe(2);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.merges).toEqual([{ local: false, patches: 2, tables: ["items"], keys: { items: [[1], [2]] } }]);
  });

  it("a patch received again is a duplicate: nothing merged, emitted or relayed", () => {
    const x = open();
    x.link(2);
    const three = x.link(3);
    const bytes = msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, name: "a" } });
    x.r.receive(2, bytes);
    expect(three.map(seqsOf)).toEqual([["2.1"]]);
    x.r.receive(2, bytes);
    expect(three).toHaveLength(1);
    expect(x.merges).toHaveLength(1);
    expect(x.metric("patches_applied_total")).toBe(1);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_conflicting_total")).toBe(0);
    expect(x.conflicts).toEqual([]);
  });

  it("relays merged patches to every other neighbour, not back to the sender, before receive returns", () => {
    const x = open();
    const two = x.link(2);
    const three = x.link(3);
    const four = x.link(4);
    x.r.receive(4, heartbeat(T0, [{ peerId: 2, contiguous: 1, highest: 1 }]));
    four.length = 0;
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, name: "a" } }, { peer: 2, seq: 2, at: T0 - 4, row: { id: 2, name: "b" } }));
    expect(two).toEqual([]);
    expect(three.map(seqsOf)).toEqual([["2.1", "2.2"]]);
    // Neighbour 4 advertised 2.1 already.
    expect(four.map(seqsOf)).toEqual([["2.2"]]);
  });

  it("merges a patch stamped exactly at the drift bound and holds one just beyond it", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    const three = x.link(3);
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 1000, row: { id: 1, name: "a" } }, { peer: 2, seq: 2, at: T0 + 1001, row: { id: 2, name: "b" } }));
    expect(x.rows()).toEqual([[1, "a", null]]);
    expect(x.origin(2)).toMatchObject({ contiguous: 1, highest: 1, held: 1 });
    expect(x.r.status().heldPatches).toBe(1);
    expect(x.metric("patches_applied_total")).toBe(1);
    expect(x.metric("patches_held_total")).toBe(1);
    expect(three.map(seqsOf)).toEqual([["2.1"]]);
    expect(x.merges.map((m) => m.patches)).toEqual([1]);
  });
});

describe("receive: without a logger, or one without debug", () => {
  it("counts a clock beyond the bound and leaves a spoiled held patch held", () => {
    for (const logger of [undefined, { warn: () => {} }]) {
      const d = testDriver();
      const r = createReplica(d, { peerId: 1, heartbeatMs: 0, now: () => now, maxClockDriftMs: 1000, ...(logger ? { logger } : {}) });
      opened.push(r);
      r.migrate(MIGRATIONS);
      r.addPeer(2, () => {});
      r.receive(2, heartbeat(T0 + 5000, []));
      expect(r.metrics()).toMatch(/^replic_clock_drift_rejections_total 1$/m);
      r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 5000, row: { id: 1 } }));
      d.db.prepare("UPDATE _replic_held SET bytes = x'00'").run();
      now = T0 + 4000;
      r.tick();
      expect(r.status().heldPatches).toBe(1);
      now = T0;
    }
  });
});

describe("receive: far-future patches", () => {
  it("holds them (not merged, not relayed), refuses a repeat as a duplicate, and merges them once their time has come", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    const three = x.link(3);
    const far = msg({ peer: 2, seq: 1, at: T0 + 5000, row: { id: 1, name: "late" } });
    x.r.receive(2, far);
    expect(x.rows()).toEqual([]);
    expect(x.patchRows()).toEqual([]);
    expect(three).toEqual([]);
    expect(x.merges).toEqual([]);
    expect(x.r.status().heldPatches).toBe(1);
    expect(x.origin(2)).toMatchObject({ contiguous: 0, highest: 0, held: 1 });
    expect(x.metric("patches_held_total")).toBe(1);
    x.r.receive(2, far);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_held_total")).toBe(1);
    // Within the bound now but not released yet: still a duplicate, not merged.
    now = T0 + 3999;
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 4500, row: { id: 1, name: "other" } }));
    expect(x.metric("patches_duplicate_total")).toBe(2);
    expect(x.rows()).toEqual([]);
    // Not yet due: a round changes nothing.
    x.r.tick();
    expect(x.rows()).toEqual([]);
    now = T0 + 4000;
    three.length = 0;
    x.r.tick();
    expect(x.rows()).toEqual([[1, "late", null]]);
    expect(x.r.status().heldPatches).toBe(0);
    expect(x.origin(2)).toMatchObject({ contiguous: 1, highest: 1, held: 0 });
    expect(x.metric("patches_released_total")).toBe(1);
    expect(x.metric("patches_applied_total")).toBe(1);
    expect(x.merges).toEqual([{ local: false, patches: 1, tables: ["items"], keys: { items: [[1]] } }]);
    expect(three.filter((m) => m.kind === "patches").map(seqsOf)).toEqual([["2.1"]]);
    // Released once: the hold is empty and the patch is now a plain duplicate.
    x.r.tick();
    expect(x.metric("patches_released_total")).toBe(1);
    x.r.receive(2, far);
    expect(x.metric("patches_duplicate_total")).toBe(3);
    expect(x.rows()).toEqual([[1, "late", null]]);
  });

  it("refuses far-future patches beyond maxHeldPatches and counts a repeat inside one message as a duplicate", () => {
    const x = open(1, { maxClockDriftMs: 1000, maxHeldPatches: 2 });
    const a = { peer: 2, seq: 1, at: T0 + 5000, row: { id: 1, name: "a" } };
    x.r.receive(2, msg(a, a, { peer: 2, seq: 2, at: T0 + 5000, row: { id: 2, name: "b" } }, { peer: 2, seq: 3, at: T0 + 5000, row: { id: 3, name: "c" } }));
    expect(x.r.status().heldPatches).toBe(2);
    expect(x.origin(2)).toMatchObject({ held: 2 });
    expect(x.metric("patches_held_total")).toBe(2);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_held_refused_total")).toBe(1);
    now = T0 + 4000;
    x.r.tick();
    expect(x.rows()).toEqual([
      [1, "a", null],
      [2, "b", null],
    ]);
    expect(x.origin(2)).toMatchObject({ contiguous: 2, highest: 2, held: 0 });
    expect(x.metric("patches_released_total")).toBe(2);
  });

  it("a held patch brought again once due is released and merged at once; another version under its sequence is a duplicate", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    const three = x.link(3);
    const far = msg({ peer: 2, seq: 1, at: T0 + 5000, row: { id: 1, name: "late" } });
    x.r.receive(2, far);
    now = T0 + 4000;
    // Due now, but a copy stamped otherwise is not the version held: it stays held.
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 4500, row: { id: 1, name: "other" } }));
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.r.status().heldPatches).toBe(1);
    expect(x.rows()).toEqual([]);
    // The version held, from a neighbour before any round: released here, merged and relayed.
    x.r.receive(2, far);
    expect(x.rows()).toEqual([[1, "late", null]]);
    expect(x.r.status().heldPatches).toBe(0);
    expect(x.origin(2)).toMatchObject({ contiguous: 1, held: 0 });
    expect(x.metric("patches_released_total")).toBe(1);
    expect(x.metric("patches_applied_total")).toBe(1);
    expect(three.filter((m) => m.kind === "patches").map(seqsOf)).toEqual([["2.1"]]);
    // Nothing is left for the round.
    x.r.tick();
    expect(x.metric("patches_released_total")).toBe(1);
    expect(x.metric("patches_applied_total")).toBe(1);
  });

  it("a held row that is not a patches message is skipped", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 5000, row: { id: 1, qty: 5 } }));
    x.db.prepare("UPDATE _replic_held SET bytes = ?").run(Buffer.from(heartbeat(T0, [])));
    now = T0 + 4000;
    x.r.tick();
    expect(x.warnings).toEqual([]);
    expect(x.rows()).toEqual([]);
    expect(x.r.status().heldPatches).toBe(1);
  });

  // The catch is there for a value that no longer fits its column after a migration; spoiled
  // bytes take the same way.
  it("a held patch that cannot be mapped any more stays held, with a warning", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 5000, row: { id: 1, qty: 5 } }, { peer: 2, seq: 2, at: T0 + 5000, row: { id: 2, qty: 6 } }));
    expect(x.r.status().heldPatches).toBe(2);
    // Spoil the stored form of 2.1: its bytes no longer decode.
    x.db.prepare("UPDATE _replic_held SET bytes = x'00' WHERE seq = 1").run();
    now = T0 + 4000;
    x.r.tick();
    expect(x.rows()).toEqual([[2, null, 6]]);
    expect(x.r.status().heldPatches).toBe(1);
    expect(x.warnings).toEqual(["replic: held patch 2.1 cannot be merged yet"]);
    expect(x.metric("patches_released_total")).toBe(1);
  });
});

describe("receive: older than the collection horizon", () => {
  it("refuses a patch stamped below the horizon and merges one stamped at it", () => {
    const x = open(1, { retentionMs: 1000 });
    x.r.upsert("items", { id: 100, name: "mine" });
    now = T0 + 5000;
    expect(x.r.gc()).toBe(1);
    const horizon = T0 + 4000;
    x.r.receive(2, msg({ peer: 2, seq: 1, at: horizon - 1, row: { id: 1, name: "old" } }));
    expect(x.metric("patches_too_old_total")).toBe(1);
    expect(x.rows()).toEqual([[100, "mine", null]]);
    expect(x.origin(2)).toBeUndefined();
    x.r.receive(2, msg({ peer: 3, seq: 1, at: horizon, row: { id: 2, name: "fresh" } }));
    expect(x.rows()).toEqual([
      [2, "fresh", null],
      [100, "mine", null],
    ]);
    expect(x.metric("patches_too_old_total")).toBe(1);
  });
});

describe("receive: patches of our own origin", () => {
  it("an echo of our own patch is a duplicate; nothing is merged", () => {
    const x = open();
    x.r.upsert("items", { id: 1, name: "mine" });
    const [stored] = x.patchRows() as SqlValue[][];
    x.r.receive(2, encodeMessage({ kind: "patches", patches: [{ table: "items", peerId: 1, seq: 1, patchedAt: stored![3] as number, values: { id: 1, name: "mine" } }] }));
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_own_refused_total")).toBe(0);
    expect(x.conflicts).toEqual([]);
    expect(x.merges).toHaveLength(1); // the local write only
  });

  it("a patch of our origin beyond our sequence is refused as a second writer", () => {
    const x = open();
    x.r.upsert("items", { id: 1, name: "mine" });
    x.r.receive(2, msg({ peer: 1, seq: 2, at: T0 - 1, row: { id: 2, name: "forged" } }));
    expect(x.rows()).toEqual([[1, "mine", null]]);
    expect(x.metric("patches_own_refused_total")).toBe(1);
    expect(x.metric("patches_duplicate_total")).toBe(0);
    expect(x.conflicts.map((e) => [e.code, e.message])).toEqual([
      ["IDENTITY_CONFLICT", "peer id 1: received patch 1.2, beyond this replica's own sequence 1: another writer uses this id"],
    ]);
    expect(x.r.status().identityConflicts.count).toBe(1);
    expect(x.r.status().sequence).toBe(1);
  });

  it("a patch of our origin that differs from the one we wrote is refused; one we collected already is an old echo", () => {
    const x = open(1, { retentionMs: 1000 });
    x.r.upsert("items", { id: 1, name: "mine" });
    now = T0 + 1;
    x.r.upsert("items", { id: 2, name: "mine too" });
    x.r.receive(2, msg({ peer: 1, seq: 2, at: T0 - 50, row: { id: 2, name: "other" } }));
    expect(x.rows()).toEqual([
      [1, "mine", null],
      [2, "mine too", null],
    ]);
    expect(x.metric("patches_own_refused_total")).toBe(1);
    expect(x.conflicts.map((e) => e.message)).toEqual(["peer id 1: received patch 1.2, which differs from the one this replica wrote: another writer uses this id"]);
    // 1.1 collected (its sequence is below ours and nothing stored differs): an echo.
    now = T0 + 1001;
    expect(x.r.gc()).toBe(1);
    x.r.receive(2, msg({ peer: 1, seq: 1, at: T0 - 50, row: { id: 1, name: "other" } }));
    expect(x.metric("patches_own_refused_total")).toBe(1);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.rows()).toEqual([
      [1, "mine", null],
      [2, "mine too", null],
    ]);
  });
});

describe("receive: our own patch kept whole after a rollback", () => {
  it("an echo of it is a duplicate; another version of it is a second writer", () => {
    const x = open();
    const color = { up: "ALTER TABLE items ADD COLUMN color TEXT; ALTER TABLE items_patches ADD COLUMN color TEXT;", down: "ALTER TABLE items_patches DROP COLUMN color; ALTER TABLE items DROP COLUMN color;" };
    x.r.migrate([...MIGRATIONS, color]);
    x.r.upsert("items", { id: 1, color: "red" });
    const stamp = x.r.status().clock;
    x.r.migrate(MIGRATIONS);
    expect(x.r.status().alienPatches.map((c) => c.table)).toEqual(["items"]);
    const own = (at: number) => encodeMessage({ kind: "patches", patches: [{ table: "items", peerId: 1, seq: 1, patchedAt: at, values: { id: 1, color: "red" } }] });
    x.r.receive(2, own(stamp));
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.conflicts).toEqual([]);
    x.r.receive(2, own(stamp - 1));
    expect(x.metric("patches_own_refused_total")).toBe(1);
    expect(x.conflicts.map((e) => e.message)).toEqual(["peer id 1: received patch 1.1, which differs from the one this replica wrote: another writer uses this id"]);
  });
});

describe("receive: two writers under one id", () => {
  it("a newer version under a held sequence replaces ours, is passed on to everyone but the sender, and is raised", () => {
    const x = open();
    const two = x.link(2);
    const three = x.link(3);
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "first" } }, { peer: 5, seq: 2, at: T0 - 40, row: { id: 9, qty: 1 } }));
    three.length = 0;
    x.merges.length = 0;
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 10, row: { id: 2, name: "second" } }));
    // Row 1 lost its only patch; row 2 has the newcomer.
    expect(x.rows()).toEqual([
      [2, "second", null],
      [9, null, 1],
    ]);
    expect(x.patchRows()).toEqual([
      [2, "second", null, ts(T0 - 10), 1, 5],
      [9, null, 1, ts(T0 - 40), 2, 5],
    ]);
    expect(x.metric("patches_conflicting_total")).toBe(1);
    expect(x.metric("patches_duplicate_total")).toBe(0);
    expect(x.conflicts.map((e) => [e.peerId, e.message])).toEqual([
      [5, "peer id 5: 1 patch(es) differ from the stored ones under the same sequence: two writers use this id"],
    ]);
    expect(two).toEqual([]);
    expect(three.map(seqsOf)).toEqual([["5.1"]]);
    expect(three[0]!.kind === "patches" && three[0]!.patches[0]!.values).toEqual({ id: 2, name: "second" });
    expect(x.merges).toEqual([{ local: false, patches: 1, tables: ["items"], keys: { items: [[2]] } }]);
    // Nothing was merged as new: the clock stays.
    expect(x.r.status().clock).toBe(ts(T0 - 40));
  });

  it("a newer version is merged as a late patch into a row that holds newer values", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "a" } }, { peer: 6, seq: 1, at: T0 - 5, row: { id: 3, name: "z" } }));
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 10, row: { id: 3, name: "c", qty: 3 } }));
    expect(x.rows()).toEqual([[3, "z", 3]]);
  });

  it("a replacement raises the newest stamp seen: a later patch older than it is merged as late", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 40, row: { id: 4, name: "b" } }));
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 8, row: { id: 4, name: "d" } }));
    x.r.receive(2, msg({ peer: 7, seq: 1, at: T0 - 9, row: { id: 4, name: "older" } }));
    expect(x.rows()).toEqual([[4, "d", null]]);
  });

  it("a replacement older than the newest stamp seen does not lower it", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "a" } }, { peer: 6, seq: 1, at: T0 - 5, row: { id: 2, name: "newest" } }));
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 10, row: { id: 3, name: "c" } }));
    x.r.receive(2, msg({ peer: 7, seq: 1, at: T0 - 7, row: { id: 2, name: "late" } }));
    expect(x.rows()).toEqual([
      [2, "newest", null],
      [3, "c", null],
    ]);
  });

  it("after collection, a replaced patch's row keeps the columns no retained patch sets; a collected sequence is a duplicate", () => {
    const x = open(1, { retentionMs: 1000 });
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 10, row: { id: 1, name: "a" } }));
    now = T0 + 2000;
    expect(x.r.gc()).toBe(1);
    // 5.1 is gone: another version of it cannot be compared, and is a duplicate.
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 + 1500, row: { id: 2, name: "x" } }));
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_conflicting_total")).toBe(0);
    x.r.receive(2, msg({ peer: 5, seq: 2, at: T0 + 1990, row: { id: 1, qty: 2 } }));
    x.r.receive(2, msg({ peer: 5, seq: 2, at: T0 + 1995, row: { id: 3, name: "c" } }));
    expect(x.metric("patches_conflicting_total")).toBe(1);
    expect(x.rows()).toEqual([
      [1, "a", 2],
      [3, "c", null],
    ]);
  });

  it("a replaced patch's row is rebuilt from the patches left", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "a", qty: 1 } }, { peer: 6, seq: 1, at: T0 - 40, row: { id: 1, qty: 2 } }));
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 30, row: { id: 3, name: "c" } }));
    expect(x.rows()).toEqual([
      [1, null, 2],
      [3, "c", null],
    ]);
  });

  it("an older version is refused and ours is sent back to the sender; several count per origin", () => {
    const x = open();
    const two = x.link(2);
    const three = x.link(3);
    x.r.receive(3, msg({ peer: 5, seq: 1, at: T0 - 10, row: { id: 1, name: "kept" } }, { peer: 5, seq: 2, at: T0 - 9, row: { id: 2, name: "kept" } }));
    two.length = 0;
    x.merges.length = 0;
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "lost" } }, { peer: 5, seq: 2, at: T0 - 50, row: { id: 2, name: "lost" } }));
    expect(x.rows()).toEqual([
      [1, "kept", null],
      [2, "kept", null],
    ]);
    expect(x.metric("patches_conflicting_total")).toBe(2);
    expect(x.conflicts.map((e) => e.message)).toEqual(["peer id 5: 2 patch(es) differ from the stored ones under the same sequence: two writers use this id"]);
    expect(two.map(seqsOf)).toEqual([["5.1", "5.2"]]);
    expect(two[0]!.kind === "patches" && two[0]!.patches.map((p) => [p.patchedAt, p.values])).toEqual([
      [ts(T0 - 10), { id: 1, name: "kept" }],
      [ts(T0 - 9), { id: 2, name: "kept" }],
    ]);
    expect(three).toEqual([]);
    expect(x.merges).toEqual([]);
  });

  it("inside one message, the first of two versions under one sequence is kept", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "a" } }, { peer: 5, seq: 2, at: T0 - 49, row: { id: 2, name: "b" } }, { peer: 5, seq: 1, at: T0 - 10, row: { id: 3, name: "c" } }));
    expect(x.rows()).toEqual([
      [1, "a", null],
      [2, "b", null],
    ]);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_applied_total")).toBe(2);
  });

  it("a replaced patch's row is rebuilt with the patches queued earlier in the same message", () => {
    const x = open();
    x.r.receive(2, msg({ peer: 5, seq: 1, at: T0 - 50, row: { id: 1, name: "a", qty: 1 } }, { peer: 6, seq: 1, at: T0 - 20, row: { id: 9 } }));
    x.r.receive(2, msg({ peer: 6, seq: 2, at: T0 - 45, row: { id: 1, qty: 7 } }, { peer: 5, seq: 1, at: T0 - 10, row: { id: 3, name: "c" } }));
    expect(x.rows()).toEqual([
      [1, null, 7],
      [3, "c", null],
      [9, null, null],
    ]);
    expect(x.metric("patches_conflicting_total")).toBe(1);
  });
});

describe("receive: alien patches (a column or table unknown here)", () => {
  it("merges the known part, keeps the whole, relays it as received, and counts it", () => {
    const x = open();
    const three = x.link(3);
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, name: "a", color: "red" } }, { peer: 2, seq: 2, at: T0 - 4, row: { tag: "t" }, table: "tags" }));
    expect(x.rows()).toEqual([[1, "a", null]]);
    expect(x.metric("patches_applied_total")).toBe(1);
    expect(x.metric("patches_alien_kept_total")).toBe(2);
    expect(x.origin(2)).toMatchObject({ contiguous: 2, highest: 2 });
    expect(x.r.status().alienPatches.map((c) => [c.table, c.patches])).toEqual(
      expect.arrayContaining([
        ["items", 1],
        ["tags", 1],
      ]),
    );
    expect(three).toHaveLength(1);
    expect(three[0]!.kind === "patches" && three[0]!.patches.map((p) => [p.table, p.values])).toEqual([
      ["items", { id: 1, name: "a", color: "red" }],
      ["tags", { tag: "t" }],
    ]);
    expect(x.merges).toEqual([{ local: false, patches: 1, tables: ["items"], keys: { items: [[1]] } }]);
  });

  it("holds a far-future alien patch whole and merges its known part once due", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    const three = x.link(3);
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 5000, row: { id: 1, name: "a", color: "red" } }, { peer: 2, seq: 2, at: T0 + 5000, row: { id: 2, qty: 4 } }));
    expect(x.r.status().heldPatches).toBe(2);
    expect(x.metric("patches_held_total")).toBe(2);
    expect(x.rows()).toEqual([]);
    now = T0 + 4000;
    x.r.tick();
    expect(x.rows()).toEqual([
      [1, "a", null],
      [2, null, 4],
    ]);
    expect(x.r.status().heldPatches).toBe(0);
    expect(x.metric("patches_released_total")).toBe(2);
    expect(x.metric("patches_alien_kept_total")).toBe(1);
    const relayed = three.filter((m) => m.kind === "patches");
    expect(relayed.flatMap((m) => (m.kind === "patches" ? m.patches.map((p) => p.values) : []))).toEqual([{ id: 1, name: "a", color: "red" }, { id: 2, qty: 4 }]);
  });

  it("releases a far-future patch of an unknown table into the alien store", () => {
    const x = open(1, { maxClockDriftMs: 1000 });
    x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 + 5000, row: { tag: "t" }, table: "tags" }));
    expect(x.r.status().heldPatches).toBe(1);
    expect(x.origin(2)).toMatchObject({ held: 1 });
    now = T0 + 4000;
    x.r.tick();
    expect(x.r.status().heldPatches).toBe(0);
    expect(x.origin(2)).toMatchObject({ contiguous: 1, highest: 1, held: 0 });
    expect(x.metric("patches_released_total")).toBe(1);
    expect(x.metric("patches_alien_kept_total")).toBe(1);
    expect(x.r.status().alienPatches.map((c) => [c.table, c.patches])).toEqual([["tags", 1]]);
  });
});

describe("receive: heartbeats and requests", () => {
  it("a heartbeat of a linked neighbour records its clock, schema and heads, and asks for what we lack", () => {
    const x = open();
    const two = x.link(2);
    x.r.receive(2, heartbeat(T0 + 2500, [{ peerId: 7, contiguous: 3, highest: 3 }], { version: 4, hash: 99 }));
    const peer = x.r.status().peers[0]!;
    expect(peer.clockDriftMs).toBe(2500);
    expect(peer.schema).toEqual({ version: 4, hash: 99 });
    expect(peer.heads).toEqual([{ peerId: 7, contiguous: 3, highest: 3, retainedFrom: 1 }]);
    expect(x.metric("peer_clock_drift_seconds", '{peer="2"}')).toBe(2.5);
    expect(x.r.status().clock).toBe(ts(T0 + 2500));
    expect(two).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 1, to: 3 }] }]);
    x.r.receive(2, heartbeat(T0, []));
    expect(x.r.status().peers[0]!.schema).toBeNull();
  });

  it("a heartbeat from a sender that is not linked is ignored", () => {
    const x = open();
    const two = x.link(2);
    x.r.receive(3, heartbeat(T0 + 2500, [{ peerId: 7, contiguous: 3, highest: 3 }]));
    expect(two).toEqual([]);
    expect(x.r.status().clock).toBe(0);
    expect(x.r.status().peers[0]!.heads).toEqual([]);
  });

  it("takes at most maxOrigins heads and counts the rest", () => {
    const x = open(1, { maxOrigins: 1 });
    x.link(2);
    x.r.receive(2, heartbeat(T0, [{ peerId: 7, contiguous: 0, highest: 0 }, { peerId: 8, contiguous: 0, highest: 0 }, { peerId: 9, contiguous: 0, highest: 0 }]));
    expect(x.metric("heads_ignored_total")).toBe(2);
    expect(x.r.status().peers[0]!.heads.map((h) => h.peerId)).toEqual([7]);
    x.r.receive(2, heartbeat(T0, [{ peerId: 7, contiguous: 0, highest: 0 }]));
    expect(x.metric("heads_ignored_total")).toBe(2);
  });

  it("a neighbour advertising our origin beyond our sequence raises a conflict once per new highest, again after re-linking", () => {
    const x = open();
    x.link(2);
    x.link(3);
    x.r.upsert("items", { id: 1, name: "a" });
    x.r.receive(2, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 1 }]));
    expect(x.conflicts).toEqual([]);
    x.r.receive(2, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 3 }]));
    x.r.receive(2, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 3 }]));
    x.r.receive(2, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 2 }]));
    expect(x.conflicts.map((e) => e.message)).toEqual(["peer id 1: neighbour 2 holds patches of this id up to 3, beyond this replica's own sequence 1"]);
    x.r.receive(3, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 3 }]));
    x.r.receive(2, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 4 }]));
    expect(x.conflicts).toHaveLength(3);
    x.r.removePeer(2);
    x.link(2);
    x.r.receive(2, heartbeat(T0, [{ peerId: 1, contiguous: 1, highest: 4 }]));
    expect(x.conflicts).toHaveLength(4);
    expect(x.r.status().identityConflicts.count).toBe(4);
  });

  it("serves a request from a linked neighbour and ignores one from a sender that is not linked", () => {
    const x = open();
    const two = x.link(2);
    x.r.upsert("items", { id: 1, name: "a" });
    x.r.upsert("items", { id: 2, name: "b" });
    two.length = 0;
    const request = encodeWire({ kind: "request", ranges: [{ peerId: 1, from: 1, to: 2 }] });
    x.r.receive(3, request);
    expect(two).toEqual([]);
    x.r.receive(2, request);
    expect(two.map(seqsOf)).toEqual([["1.1", "1.2"]]);
  });
});

describe("receive: streaming catch-up", () => {
  it("asks for the next window as soon as a full batch landed, and when nothing is pending", () => {
    const x = open(1, { maxBatchPatches: 2, maxInflightPatches: 2 });
    const two = x.link(2);
    x.r.receive(2, heartbeat(T0, [{ peerId: 7, contiguous: 6, highest: 6 }]));
    expect(two).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 1, to: 2 }] }]);
    two.length = 0;
    x.r.receive(2, msg({ peer: 7, seq: 1, at: T0 - 9, row: { id: 1 } }, { peer: 7, seq: 2, at: T0 - 8, row: { id: 2 } }));
    expect(two).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 3, to: 4 }] }]);
    two.length = 0;
    // One patch of the window: still pending, no batch full: nothing asked.
    x.r.receive(2, msg({ peer: 7, seq: 3, at: T0 - 7, row: { id: 3 } }));
    expect(two).toEqual([]);
    x.r.receive(2, msg({ peer: 7, seq: 4, at: T0 - 6, row: { id: 4 } }));
    expect(two).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 5, to: 6 }] }]);
    two.length = 0;
    // Nothing merged (a duplicate): no repair round.
    x.r.receive(2, msg({ peer: 7, seq: 4, at: T0 - 6, row: { id: 4 } }));
    expect(two).toEqual([]);
  });
});

describe("receive: a failure inside the transaction", () => {
  it("rolls back rows, patches, holds, heads and alien patches, and the replica stays usable", () => {
    const f = faultyDriver();
    const x = open(1, { maxClockDriftMs: 1000 }, f);
    const three = x.link(3);
    const bytes = msg(
      { peer: 2, seq: 1, at: T0 - 5, row: { id: 1, name: "a" } },
      { peer: 2, seq: 2, at: T0 + 5000, row: { id: 2, name: "far" } },
      { peer: 4, seq: 1, at: T0 - 4, row: { tag: "t" }, table: "tags" },
    );
    f.ctl.fail = /^UPDATE _replic_state/;
    expect(() => x.r.receive(2, bytes)).toThrow(expect.objectContaining({ code: "SQLITE" }));
    f.ctl.fail = undefined;
    expect(x.metric("receive_errors_total")).toBe(1);
    expect(x.rows()).toEqual([]);
    expect(x.patchRows()).toEqual([]);
    expect(x.r.status().heldPatches).toBe(0);
    expect(x.r.status().alienPatches).toEqual([]);
    expect(x.origin(2)).toBeUndefined();
    expect(x.origin(4)).toBeUndefined();
    expect(three).toEqual([]);
    expect(x.merges).toEqual([]);
    // The same message again merges whole.
    x.r.receive(2, bytes);
    expect(x.rows()).toEqual([[1, "a", null]]);
    expect(x.r.status().heldPatches).toBe(1);
    expect(x.origin(2)).toMatchObject({ contiguous: 1, highest: 1, held: 1 });
    expect(x.origin(4)).toMatchObject({ contiguous: 1, highest: 1 });
    expect(x.metric("patches_applied_total")).toBe(1);
    expect(x.metric("patches_held_total")).toBe(1);
    expect(x.metric("patches_alien_kept_total")).toBe(1);
  });

  it("a message that merges nothing does not write the bookkeeping", () => {
    const f = faultyDriver();
    const x = open(1, {}, f);
    const bytes = msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, name: "a" } });
    x.r.receive(2, bytes);
    f.ctl.fail = /^(UPDATE _replic_state|INSERT)/;
    x.r.receive(2, bytes);
    x.r.receive(2, msg({ peer: 1, seq: 1, at: T0 - 5, row: { id: 1, name: "a" } }));
    f.ctl.fail = undefined;
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(x.metric("patches_own_refused_total")).toBe(1);
    expect(x.metric("receive_errors_total")).toBe(0);
  });

  it("a constraint violation in a batched write rolls the message back and leaves nothing queued", () => {
    const f = faultyDriver();
    const x = open(1, {}, f);
    f.db.exec("CREATE TRIGGER no_negative BEFORE INSERT ON items WHEN NEW.qty < 0 BEGIN SELECT RAISE(ABORT, 'constraint failed: qty'); END");
    expect(() => x.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, qty: 1 } }, { peer: 2, seq: 2, at: T0 - 4, row: { id: 2, qty: -1 } }))).toThrow(
      expect.objectContaining({ code: "CONSTRAINT" }),
    );
    expect(x.rows()).toEqual([]);
    expect(x.patchRows()).toEqual([]);
    x.r.receive(2, msg({ peer: 3, seq: 1, at: T0 - 3, row: { id: 3, qty: 3 } }));
    expect(x.rows()).toEqual([[3, null, 3]]);
    expect(x.patchRows()).toEqual([[3, null, 3, ts(T0 - 3), 1, 3]]);
    expect(x.origin(2)).toBeUndefined();
  });
});

describe("receive: a database another replica took over", () => {
  it("a SQLite error in the receive transaction of a superseded replica breaks it with IDENTITY_CONFLICT", () => {
    const dir = mkdtempSync(join(tmpdir(), "replic-inbound-"));
    try {
      const file = join(dir, "db.sqlite");
      const a = open(1, {}, wrap(testDriver(new Database(file))));
      // Another replica opens the same file (a second process, say) and takes over the writer claim.
      const other = testDriver(new Database(file));
      const b = createReplica(other, { heartbeatMs: 0, now: () => now });
      opened.push(b);
      other.db.exec("CREATE TRIGGER no_negative BEFORE INSERT ON items WHEN NEW.qty < 0 BEGIN SELECT RAISE(ABORT, 'no negative qty'); END");
      expect(() => a.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, qty: -1 } }))).toThrow(
        expect.objectContaining({ code: "IDENTITY_CONFLICT", message: expect.stringContaining("another replica opened this database") }),
      );
      expect(a.r.status().broken).toMatch(/another replica opened this database/);
      expect(() => a.r.receive(2, msg({ peer: 2, seq: 1, at: T0 - 5, row: { id: 1, qty: 1 } }))).toThrow(expect.objectContaining({ code: "IDENTITY_CONFLICT" }));
      expect(a.rows()).toEqual([]);
      opened.splice(opened.indexOf(a.r), 1);
      a.r.close();
      a.db.close();
      b.close();
      opened.splice(opened.indexOf(b), 1);
      other.db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("receive: gap repair after a merge", () => {
  it("re-asks a timed-out range when a full batch lands while another request is still pending", () => {
    const x = open(1, { maxBatchPatches: 2, maxInflightPatches: 4, requestTimeoutMs: 200 });
    const two = x.link(2);
    const three = x.link(3);
    x.r.receive(2, heartbeat(T0, [{ peerId: 7, contiguous: 2, highest: 2 }]));
    expect(two).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 1, to: 2 }] }]);
    now = T0 + 150;
    x.r.receive(3, heartbeat(T0, [{ peerId: 8, contiguous: 4, highest: 4 }]));
    expect(three).toEqual([{ kind: "request", ranges: [{ peerId: 8, from: 1, to: 4 }] }]);
    two.length = 0;
    three.length = 0;
    // 7's request timed out while 8's is pending: one patch of 8 runs no repair round...
    now = T0 + 250;
    x.r.receive(3, msg({ peer: 8, seq: 1, at: T0 - 9, row: { id: 1 } }));
    expect(two.filter((m) => m.kind === "request")).toEqual([]);
    // ...a full batch runs one at once, which asks 7 again.
    x.r.receive(3, msg({ peer: 8, seq: 2, at: T0 - 8, row: { id: 2 } }, { peer: 8, seq: 3, at: T0 - 7, row: { id: 3 } }));
    expect(two.filter((m) => m.kind === "request")).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 1, to: 2 }] }]);
    expect(three).toEqual([]);
  });

  it("a message that merges nothing runs no repair round", () => {
    const x = open(1, { requestTimeoutMs: 200 });
    const two = x.link(2);
    const first = msg({ peer: 9, seq: 1, at: T0 - 9, row: { id: 1 } });
    x.r.receive(2, first);
    x.r.receive(2, heartbeat(T0, [{ peerId: 7, contiguous: 2, highest: 2 }]));
    expect(two).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 1, to: 2 }] }]);
    two.length = 0;
    now = T0 + 300;
    x.r.receive(2, first);
    expect(x.metric("patches_duplicate_total")).toBe(1);
    expect(two).toEqual([]);
    // The round would have asked again.
    x.r.tick();
    expect(two.filter((m) => m.kind === "request")).toEqual([{ kind: "request", ranges: [{ peerId: 7, from: 1, to: 2 }] }]);
  });

  it("a patch of an unknown table advances its origin's waiters", async () => {
    const x = open();
    const wait = x.r.waitFor("4.1", 1000);
    x.r.receive(2, msg({ peer: 4, seq: 1, at: T0 - 4, row: { tag: "t" }, table: "tags" }));
    await wait;
    expect(x.origin(4)).toMatchObject({ contiguous: 1, highest: 1 });
    expect(x.merges).toEqual([]);
  });
});

describe("receive: heads deltas (version 3)", () => {
  const h = (peerId: number, contiguous: number, highest = contiguous) => ({ peerId, contiguous, highest, retainedFrom: 1 });
  const v3 = (form: "full" | "delta", heads: ReturnType<typeof h>[], digest?: string) =>
    encodeWire({ kind: "heartbeat", clock: ts(T0), form, heads, ...(digest ? { digest } : {}) }, 3);
  const digest = (heads: ReturnType<typeof h>[]) => (decodeMessage(v3("full", heads)) as { digest: string }).digest;
  const asks = (m: Message[]) => m.filter((x) => x.kind === "heads-request").length;

  it("a delta patches the heads kept for its sender; a matching digest asks nothing, counted heads are the ones carried", () => {
    const x = open(1);
    const two = x.link(2);
    x.r.receive(2, v3("full", [h(7, 0), h(8, 0)]));
    expect(x.metric("heads_taken_total")).toBe(2);
    x.r.receive(2, v3("delta", [h(8, 0, 0)], digest([h(7, 0)])));
    expect(x.metric("heads_taken_total")).toBe(3);
    x.r.receive(2, v3("delta", [h(9, 0, 0)], digest([h(7, 0)])));
    expect(x.r.status().peers[0]!.heads.map((x) => x.peerId)).toEqual([7, 8, 9]);
    expect(x.metric("heads_digest_mismatches_total")).toBe(0);
    expect(asks(two)).toBe(0);
  });

  it("a digest that does not match asks the sender for its full heads, once a round; a full heartbeat that matches ends it", () => {
    const x = open(1);
    const two = x.link(2);
    x.r.receive(2, v3("delta", [], "00000000000000ff"));
    x.r.receive(2, v3("delta", [], "00000000000000ff"));
    expect(x.metric("heads_digest_mismatches_total")).toBe(2);
    expect(asks(two)).toBe(1);
    x.r.tick();
    x.r.receive(2, v3("delta", [], "00000000000000ff"));
    expect(asks(two)).toBe(2);
    x.r.receive(2, v3("full", [h(7, 0, 0)]));
    expect(x.metric("heads_digest_mismatches_total")).toBe(3);
    // A version 2 heartbeat carries no digest: nothing to compare.
    x.r.tick();
    x.r.receive(2, heartbeat(T0, [h(7, 0, 0)]));
    expect(x.metric("heads_digest_mismatches_total")).toBe(3);
    expect(asks(two)).toBe(2);
  });

  it("a sender whose heads were cut at maxOrigins is not asked for them again and again", () => {
    const x = open(1, { maxOrigins: 1 });
    const two = x.link(2);
    x.r.receive(2, v3("full", [h(7, 1), h(8, 1)]));
    expect(x.metric("heads_ignored_total")).toBe(1);
    x.r.receive(2, v3("delta", [], "00000000000000ff"));
    expect(x.metric("heads_digest_mismatches_total")).toBe(2);
    expect(asks(two)).toBe(0);
  });

  it("a heads request from a linked neighbour is answered with a full heartbeat; from an unlinked one, ignored", () => {
    const x = open(1);
    const two = x.link(2);
    x.r.upsert("items", { id: 1, name: "a" });
    two.length = 0;
    x.r.receive(2, encodeWire({ kind: "heads-request" }, 3));
    expect(two.map((m) => (m.kind === "heartbeat" ? m.form : m.kind))).toEqual(["full"]);
    expect((two[0] as { heads: unknown[] }).heads).toEqual([h(1, 1)]);
    x.r.receive(3, encodeWire({ kind: "heads-request" }, 3));
    expect(x.metric("heads_requests_in_total")).toBe(1);
  });

  it("a full heartbeat from a neighbour ends our quiet towards it: its next rounds get our heartbeats again, to check against their digest", () => {
    const x = open(1, { idleHeartbeatEvery: 100 });
    const two = x.link(2);
    const beats = () => {
      two.length = 0;
      x.r.tick();
      return two.filter((m) => m.kind === "heartbeat").length;
    };
    expect([beats(), beats(), beats(), beats(), beats()]).toEqual([1, 1, 1, 0, 0]);
    x.r.receive(2, v3("delta", [h(7, 0)], digest([h(7, 0)])));
    expect(beats()).toBe(0);
    x.r.receive(2, v3("full", [h(7, 0)]));
    expect([beats(), beats(), beats()]).toEqual([1, 1, 0]);
  });

  it("a delta naming our own origin beyond our sequence raises IDENTITY_CONFLICT", () => {
    const x = open(1);
    x.link(2);
    x.r.receive(2, v3("full", []));
    x.r.receive(2, v3("delta", [h(1, 5)], digest([h(1, 5)])));
    expect(x.conflicts).toHaveLength(1);
  });
});
