/**
 * The local write path (src/local-writes.ts), driven directly with the real rooms on an in-memory
 * database: upsert, upsertMany and transaction; what they write, stamp, send and announce, and
 * that a failure writes nothing and uses no sequence number.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AlienStore } from "../../src/alien-store.js";
import { Bookkeeping } from "../../src/bookkeeping.js";
import { Catalog } from "../../src/catalog.js";
import { HybridLogicalClock, timestampFromMs } from "../../src/clock.js";
import type { SqliteDriver, SqlValue } from "../../src/driver.js";
import { isReplicError } from "../../src/errors.js";
import { Events, type MergeEvent } from "../../src/events.js";
import { createReplica, decodeMessage, type Patch } from "../../src/index.js";
import { LocalWriter } from "../../src/local-writes.js";
import { declareAll } from "../../src/metric-names.js";
import { Metrics } from "../../src/metrics.js";
import { Neighbours } from "../../src/neighbours.js";
import { resolveOptions, type ReplicaOptions } from "../../src/options.js";
import { Origins } from "../../src/origins.js";
import { GapRepair } from "../../src/gap-repair.js";
import { GroupBounds } from "../../src/group-bounds.js";
import { IdentityGuard } from "../../src/identity.js";
import { Publisher } from "../../src/publisher.js";
import { Staleness } from "../../src/staleness.js";
import { Outbox } from "../../src/outbox.js";
import { TxBracket } from "../../src/transaction.js";
import { Waiters } from "../../src/waiters.js";
import { testDriver } from "../helpers.js";
import { itemsDdl } from "../sim.js";

const PEER = 7;
const WALL = 1_800_000_000_000;
const CHECKED_DDL = itemsDdl(false).replace("qty INTEGER,", "qty INTEGER CHECK (qty IS NULL OR qty >= 0),");
const TAGS_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT);
CREATE TABLE tags_patches (tag TEXT, color TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT);`;

/** The rooms a replica hands the local writer, opened as replica.ts opens them. */
function rig(options: ReplicaOptions & { ddl?: string; driver?: SqliteDriver; link?: boolean; listen?: boolean } = {}) {
  const d = (options.driver ?? testDriver()) as SqliteDriver & { db?: Database.Database };
  if (options.ddl !== "") d.exec(options.ddl ?? `${CHECKED_DDL}\n${TAGS_DDL}`);
  const { ddl: _ddl, driver: _driver, link: _link, listen: _listen, ...replicaOptions } = options; // the rig's own keys are no options
  const opts = resolveOptions({ peerId: PEER, heartbeatMs: 0, now: () => WALL, ...replicaOptions });
  const tx = new TxBracket(d);
  let book!: Bookkeeping;
  let catalog!: Catalog;
  let alien!: AlienStore;
  tx.run(() => {
    book = new Bookkeeping(d, PEER);
    catalog = new Catalog(d);
    alien = new AlienStore(d);
    book.claimWriter();
    book.persist(0, catalog.tables.keys());
    book.fence();
  }, () => {});
  const clock = new HybridLogicalClock(opts.now, opts.maxClockDriftMs, 0);
  const metrics = new Metrics();
  declareAll(metrics);
  const events = new Events(undefined);
  const waiters = new Waiters();
  const origins = new Origins();
  const neighbours = new Neighbours();
  const bounds = new GroupBounds(d);
  const outbox = new Outbox(neighbours, catalog, alien, bounds, metrics, opts, undefined);
  const sent: Uint8Array[] = [];
  if (options.link !== false) neighbours.add(99, (m) => sent.push(m));
  const staleness = new Staleness(PEER, metrics, events, waiters, undefined);
  const identity = new IdentityGuard(PEER, metrics, events, undefined);
  const gaps = new GapRepair(PEER, neighbours, origins, opts, metrics, staleness, () => {});
  const publisher = new Publisher({ origins, neighbours, outbox, waiters, events, metrics, identity, gaps, ownPeerId: PEER, maxBatchPatches: opts.maxBatchPatches, now: opts.now });
  const w = new LocalWriter({ book, catalog, clock, tx, neighbours, events, bounds, publisher, opts });
  const merges: MergeEvent[] = [];
  if (options.listen !== false) events.on("merge", (e) => merges.push(e));
  const db = (d as { db?: Database.Database }).db!;
  const all = (sql: string) => db.prepare(sql).raw(true).all();
  const one = (sql: string) => db.prepare(sql).pluck().get() as number;
  /** Every patch sent to the neighbour, in the friendly form. */
  const sentPatches = (): Patch[] =>
    sent.flatMap((m) => {
      const msg = decodeMessage(m);
      return msg.kind === "patches" ? msg.patches : [];
    });
  /** Everything a failed write must leave as it was. */
  const snapshot = () =>
    JSON.stringify([
      all("SELECT * FROM items ORDER BY id"),
      all("SELECT * FROM items_patches ORDER BY _peerId, _sequenceId"),
      all("SELECT * FROM tags ORDER BY tag"),
      all("SELECT * FROM tags_patches ORDER BY _peerId, _sequenceId"),
      all("SELECT * FROM _replic_nulls ORDER BY peerId, seq"),
      book.seq,
      book.highestTs,
      origins.contiguous(PEER),
      metrics.get("patches_local_total"),
      sent.length,
      merges.length,
    ]);
  return { d, db, w, book, clock, tx, origins, waiters, events, metrics, sent, sentPatches, merges, all, one, snapshot, catalog };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isReplicError(e)) return e.code;
    return `not a ReplicError: ${String(e)}`;
  }
  return "no error";
}


/**
 * Row 1 holds a remote patch (peer 3, name "remote") stamped 10 s ahead of our clock and merged
 * with its clock refused: our next writes are stamped behind what was merged. Returns its stamp.
 */
function mergedAhead(r: ReturnType<typeof rig>): number {
  const ahead = timestampFromMs(WALL + 10_000);
  r.db.exec(`INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (1, 'remote', ${ahead}, 1, 3)`);
  r.db.exec(`INSERT INTO items (id, name) VALUES (1, 'remote')`);
  r.book.highestTs = ahead;
  return ahead;
}
describe("local writes: upsert", () => {
  it("stamps, stores, merges, advances our head, counts, announces and sends each write", () => {
    const r = rig();
    expect(r.w.upsert("items", { id: 1, name: "a", qty: null })).toBe(`${PEER}.1`);
    expect(r.w.upsert("tags", { tag: "t", color: "red" })).toBe(`${PEER}.2`);
    const ts = timestampFromMs(WALL);
    expect(r.all("SELECT * FROM items")).toEqual([[1, "a", null, null, null]]);
    expect(r.all("SELECT id, name, qty, _patchedAt, _sequenceId, _peerId FROM items_patches")).toEqual([[1, "a", null, ts, 1, PEER]]);
    expect(r.all("SELECT peerId, seq, tbl, cols FROM _replic_nulls")).toEqual([[PEER, 1, "items", "qty"]]);
    expect(r.all("SELECT tag, color, _patchedAt, _sequenceId, _peerId, _nulls FROM tags_patches")).toEqual([["t", "red", ts + 1, 2, PEER, null]]);
    expect(r.book.seq).toBe(2);
    expect(r.book.highestTs).toBe(ts + 1);
    expect(r.origins.get(PEER).head()).toEqual({ peerId: PEER, contiguous: 2, highest: 2, retainedFrom: 1 });
    expect(r.metrics.get("patches_local_total")).toBe(2);
    expect(r.merges).toEqual([
      { local: true, patches: 1, tables: ["items"], keys: { items: [[1]] } },
      { local: true, patches: 1, tables: ["tags"], keys: { tags: [["t"]] } },
    ]);
    expect(r.sent).toHaveLength(2);
    expect(r.sentPatches()).toEqual([
      { table: "items", peerId: PEER, seq: 1, patchedAt: ts, values: { id: 1, name: "a", qty: null } },
      { table: "tags", peerId: PEER, seq: 2, patchedAt: ts + 1, values: { tag: "t", color: "red" } },
    ]);
  });

  it("sends nothing when no neighbour is linked, and still writes", () => {
    const r = rig({ link: false });
    r.w.upsert("items", { id: 1 });
    expect(r.sent).toEqual([]);
    expect(r.one("SELECT count(*) FROM items_patches")).toBe(1);
  });

  it("a merge listener added inside the transaction gets its event", () => {
    const r = rig();
    const seen: MergeEvent[] = [];
    r.w.transaction(() => {
      r.events.on("merge", (e) => seen.push(e));
      r.w.upsert("items", { id: 3 });
    });
    // The rig's own listener was there from the start: keys were collected.
    expect(seen).toEqual([{ local: true, patches: 1, tables: ["items"], keys: { items: [[3]] } }]);
  });

  it("a merge listener added later hears only the writes after it (through createReplica)", () => {
    const d = testDriver();
    const r = createReplica(d, { peerId: PEER, heartbeatMs: 0 });
    r.migrate([{ up: CHECKED_DDL, down: "" }]);
    r.upsert("items", { id: 1 });
    const seen: MergeEvent[] = [];
    r.on("merge", (e) => seen.push(e));
    r.upsert("items", { id: 2 });
    expect(seen).toEqual([{ local: true, patches: 1, tables: ["items"], keys: { items: [[2]] } }]);
  });

  it("refuses a bad row with a typed error before writing anything", () => {
    const r = rig();
    r.w.upsert("items", { id: 1, name: "a" });
    const before = r.snapshot();
    expect(codeOf(() => r.w.upsert("nope", { id: 1 }))).toBe("UNKNOWN_TABLE");
    expect(codeOf(() => r.w.upsert("items", { id: 2, colour: 1 }))).toBe("UNKNOWN_COLUMN");
    expect(codeOf(() => r.w.upsert("items", { name: "x" }))).toBe("MISSING_PRIMARY_KEY");
    expect(codeOf(() => r.w.upsert("items", { id: 2, qty: -1 }))).toBe("CONSTRAINT");
    expect(r.snapshot()).toBe(before);
    expect(r.w.upsert("items", { id: 2 })).toBe(`${PEER}.2`);
  });

  it("a SQLite refusal names the table and changes nothing", () => {
    const r = rig();
    try {
      r.w.upsert("items", { id: 2, qty: -1 });
      expect.unreachable();
    } catch (e) {
      expect(isReplicError(e) && e.code).toBe("CONSTRAINT");
      expect((e as Error).message).toMatch(/^SQLite refused the write to "items": CHECK constraint failed/);
    }
  });

  it("a replic error of another copy of the package, thrown by the driver, reaches the caller as it is", () => {
    const base = testDriver();
    // What a ReplicError of another copy (the CJS build next to the ESM one) looks like here.
    const foreign = Object.assign(new Error("replic: database closed"), { code: "CLOSED", [Symbol.for("replic.error")]: true });
    let fail = false;
    const driver: SqliteDriver = {
      ...base,
      prepare(sql) {
        const s = base.prepare(sql);
        if (!sql.startsWith(`INSERT INTO "items" `)) return s;
        return { ...s, run: (p) => (fail ? (() => { throw foreign; })() : s.run(p)) };
      },
    };
    const r = rig({ driver });
    r.w.upsert("items", { id: 1 });
    fail = true;
    let caught: unknown;
    try {
      r.w.upsert("items", { id: 2 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(foreign);
    expect(r.one("SELECT count(*) FROM items_patches")).toBe(1);
  });

  it("a row written after a late one (clock behind what was merged) still merges by the rule", () => {
    const r = rig();
    // Our next write is older than the remote patch, so it must not overwrite the column it set.
    const ahead = mergedAhead(r);
    r.w.upsert("items", { id: 1, name: "local", qty: 4 });
    expect(r.all("SELECT id, name, qty FROM items")).toEqual([[1, "remote", 4]]);
    expect(r.book.highestTs).toBe(ahead);
  });
});

describe("local writes: a failure inside transaction()", () => {
  it("a caught failed write uses no sequence number and leaves no patch row", () => {
    const r = rig();
    const tokens = r.w.transaction(() => {
      const a = r.w.upsert("items", { id: 1, qty: 1 });
      expect(codeOf(() => r.w.upsert("items", { id: 2, qty: -1 }))).toBe("CONSTRAINT");
      const b = r.w.upsert("items", { id: 3, qty: 3 });
      return [a, b];
    });
    expect(tokens).toEqual([`${PEER}.1`, `${PEER}.2`]);
    expect(r.all("SELECT id, qty, _sequenceId FROM items_patches ORDER BY _sequenceId")).toEqual([
      [1, 1, 1],
      [3, 3, 2],
    ]);
    expect(r.all("SELECT id, qty FROM items ORDER BY id")).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(r.merges).toEqual([{ local: true, patches: 2, tables: ["items"], keys: { items: [[1], [3]] } }]);
    expect(r.sentPatches().map((p) => p.seq)).toEqual([1, 2]);
  });

  it("a caught failed late write takes its patch row back from the table (it was flushed for the probe)", () => {
    const r = rig();
    const ahead = timestampFromMs(WALL + 10_000);
    r.book.highestTs = ahead;
    r.w.transaction(() => {
      r.w.upsert("items", { id: 1, qty: 1 });
      expect(codeOf(() => r.w.upsert("items", { id: 2, qty: -1, name: null }))).toBe("CONSTRAINT");
      r.w.upsert("items", { id: 3, qty: 3 });
    });
    expect(r.all("SELECT id, _sequenceId FROM items_patches ORDER BY _sequenceId")).toEqual([
      [1, 1],
      [3, 2],
    ]);
    expect(r.all("SELECT peerId, seq FROM _replic_nulls")).toEqual([]);
  });
});

describe("local writes: transaction", () => {
  it("commits every write together: one event, one message, one head advance", async () => {
    const r = rig();
    let resolved = false;
    const wait = r.waiters.wait(PEER, 3, Infinity, () => "w").then(() => (resolved = true));
    const result = r.w.transaction(() => {
      r.w.upsert("items", { id: 1, name: "a" });
      r.w.upsert("tags", { tag: "x", color: null });
      r.w.upsert("items", { id: 2, price: 2.5 });
      expect(r.origins.contiguous(PEER)).toBe(0);
      expect(r.merges).toEqual([]);
      expect(r.sent).toEqual([]);
      // Reads inside the transaction see the rows.
      expect(r.all("SELECT id FROM items ORDER BY id")).toEqual([[1], [2]]);
      return "done";
    });
    expect(result).toBe("done");
    expect(r.origins.get(PEER).head()).toEqual({ peerId: PEER, contiguous: 3, highest: 3, retainedFrom: 1 });
    expect(r.metrics.get("patches_local_total")).toBe(3);
    expect(r.merges).toEqual([{ local: true, patches: 3, tables: ["items", "tags"], keys: { items: [[1], [2]], tags: [["x"]] } }]);
    expect(r.sent).toHaveLength(1);
    expect(r.sentPatches().map((p) => [p.table, p.seq])).toEqual([
      ["items", 1],
      ["tags", 2],
      ["items", 3],
    ]);
    expect(r.all("SELECT _sequenceId FROM items_patches ORDER BY 1")).toEqual([[1], [3]]);
    await wait;
    expect(resolved).toBe(true);
  });

  it("a transaction that throws writes, sends and announces nothing, and uses no sequence number", () => {
    const r = rig();
    r.w.upsert("items", { id: 9, name: "before" });
    const before = r.snapshot();
    const boom = new Error("boom");
    expect(() =>
      r.w.transaction(() => {
        r.w.upsert("items", { id: 1, name: null });
        r.w.upsertMany("items", [{ id: 2 }, { id: 3 }]);
        r.w.upsert("tags", { tag: "x" });
        throw boom;
      }),
    ).toThrow(boom);
    expect(r.snapshot()).toBe(before);
    expect(r.w.upsert("items", { id: 1 })).toBe(`${PEER}.2`);
    expect(r.one("SELECT count(*) FROM items_patches")).toBe(2);
  });

  it("a transaction that throws after a batch was flushed leaves nothing either", () => {
    const r = rig();
    const before = r.snapshot();
    const rows = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, qty: i }));
    expect(() =>
      r.w.transaction(() => {
        for (const row of rows) r.w.upsert("items", row);
        throw new Error("late");
      }),
    ).toThrow("late");
    expect(r.snapshot()).toBe(before);
    r.w.transaction(() => {
      for (const row of rows.slice(0, 70)) r.w.upsert("items", row);
    });
    expect(r.one("SELECT count(*) FROM items_patches")).toBe(70);
    expect(r.one("SELECT max(_sequenceId) FROM items_patches")).toBe(70);
  });

  it("refuses an async function with TRANSACTION and writes nothing", () => {
    const r = rig();
    const before = r.snapshot();
    expect(() =>
      r.w.transaction(() => {
        r.w.upsert("items", { id: 1 });
        return Promise.resolve(1);
      }),
    ).toThrow(expect.objectContaining({ code: "TRANSACTION", message: "transaction() takes a synchronous function" }));
    expect(r.snapshot()).toBe(before);
  });

  it("with no neighbour and no merge listener: writes, counts and advances all the same", () => {
    const r = rig({ link: false, listen: false });
    r.w.transaction(() => {
      r.w.upsert("items", { id: 1 });
      expect(r.w.upsertMany("items", [{ id: 2 }, { id: 3 }])).toEqual([`${PEER}.2`, `${PEER}.3`]);
      expect(codeOf(() => r.w.upsertMany("items", [{ id: 4 }, { id: 5, qty: -1 }]))).toBe("CONSTRAINT");
    });
    expect(r.w.upsertMany("items", [{ id: 6 }])).toEqual([`${PEER}.4`]);
    expect(r.one("SELECT count(*) FROM items_patches")).toBe(4);
    expect(r.origins.contiguous(PEER)).toBe(4);
    expect(r.metrics.get("patches_local_total")).toBe(4);
    expect(r.metrics.get("messages_out_total", { kind: "patches" })).toBe(0);
  });

  it("counts what it sends as patches messages", () => {
    const r = rig();
    r.w.upsert("items", { id: 1 });
    r.w.upsertMany("items", [{ id: 2 }, { id: 3 }]);
    expect(r.metrics.get("messages_out_total", { kind: "patches" })).toBe(2);
    expect(r.metrics.get("bytes_out_total")).toBe(r.sent[0]!.length + r.sent[1]!.length);
  });

  it("a nested transaction() joins the open one", () => {
    const r = rig();
    const out = r.w.transaction(() => {
      r.w.upsert("items", { id: 1 });
      return r.w.transaction(() => r.w.upsert("items", { id: 2 }));
    });
    expect(out).toBe(`${PEER}.2`);
    expect(r.merges).toHaveLength(1);
    expect(r.merges[0]!.patches).toBe(2);
    expect(r.sent).toHaveLength(1);
  });

  it("an empty transaction commits without an event, a message or a head", () => {
    const r = rig();
    expect(r.w.transaction(() => 5)).toBe(5);
    expect(r.merges).toEqual([]);
    expect(r.sent).toEqual([]);
    expect(r.origins.find(PEER)).toBeUndefined();
    expect(r.metrics.get("patches_local_total")).toBe(0);
  });

  it("each transaction announces only its own writes", () => {
    const r = rig();
    r.w.transaction(() => {
      r.w.upsert("items", { id: 1 });
      r.w.upsert("tags", { tag: "a" });
    });
    r.w.transaction(() => r.w.upsert("tags", { tag: "b" }));
    expect(r.merges[1]).toEqual({ local: true, patches: 1, tables: ["tags"], keys: { tags: [["b"]] } });
    expect(r.metrics.get("patches_local_total")).toBe(3);
    expect(r.sent).toHaveLength(2);
  });

  it("a message is cut at maxBatchPatches", () => {
    const r = rig({ maxBatchPatches: 2 });
    r.w.transaction(() => {
      for (let i = 1; i <= 5; i++) r.w.upsert("items", { id: i });
    });
    expect(r.sent).toHaveLength(3);
    expect(r.sentPatches().map((p) => p.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("local writes: upsertMany", () => {
  it("writes many rows in one transaction: tokens, rows, patch rows, one event, one message", () => {
    const r = rig();
    const rows = Array.from({ length: 70 }, (_, i) => ({ id: i + 1, name: i % 2 ? `n${i}` : null }));
    const tokens = r.w.upsertMany("items", rows);
    expect(tokens).toEqual(rows.map((_, i) => `${PEER}.${i + 1}`));
    expect(r.one("SELECT count(*) FROM items")).toBe(70);
    expect(r.one("SELECT count(*) FROM items WHERE name IS NOT NULL")).toBe(35);
    expect(r.one("SELECT count(*) FROM items_patches")).toBe(70);
    expect(r.one("SELECT count(*) FROM _replic_nulls")).toBe(35);
    expect(r.book.seq).toBe(70);
    // One transaction, one group: every patch carries the same stamp.
    expect(r.book.highestTs).toBe(timestampFromMs(WALL));
    expect(r.origins.contiguous(PEER)).toBe(70);
    expect(r.merges).toHaveLength(1);
    expect(r.merges[0]).toMatchObject({ local: true, patches: 70, tables: ["items"] });
    expect(r.merges[0]!.keys.items).toEqual(rows.map((row) => [row.id]));
    expect(r.sent).toHaveLength(1);
    expect(r.sentPatches().map((p) => p.seq)).toEqual(tokens.map((_, i) => i + 1));
  });

  it("an empty list writes nothing and announces nothing", () => {
    const r = rig();
    expect(r.w.upsertMany("items", [])).toEqual([]);
    r.w.transaction(() => expect(r.w.upsertMany("items", [])).toEqual([]));
    expect(r.merges).toEqual([]);
    expect(r.book.seq).toBe(0);
  });

  it("refuses what is not a list of rows, naming the table first", () => {
    const r = rig();
    expect(codeOf(() => r.w.upsertMany("nope", 5 as never))).toBe("UNKNOWN_TABLE");
    try {
      r.w.upsertMany("items", { id: 1 } as never);
      expect.unreachable();
    } catch (e) {
      expect(isReplicError(e) && e.code).toBe("INVALID_ROW");
      expect((e as Error).message).toBe("upsertMany() takes an array of rows");
      expect((e as { table?: string }).table).toBe("items");
    }
  });

  it("one bad row, or a SQLite refusal, writes none of them", () => {
    const r = rig();
    r.w.upsert("items", { id: 100 });
    const before = r.snapshot();
    const good = Array.from({ length: 80 }, (_, i) => ({ id: i + 1, qty: i }));
    expect(codeOf(() => r.w.upsertMany("items", [...good, { id: 0, bad: 1 }]))).toBe("UNKNOWN_COLUMN");
    expect(codeOf(() => r.w.upsertMany("items", [...good, { id: 81, qty: -1 }]))).toBe("CONSTRAINT");
    expect(codeOf(() => r.w.upsertMany("items", [{ id: 1, qty: -1 }, ...good]))).toBe("CONSTRAINT");
    expect(r.snapshot()).toBe(before);
    expect(r.w.upsertMany("items", good.slice(0, 2))).toEqual([`${PEER}.2`, `${PEER}.3`]);
  });

  it("inside transaction(): joins it, numbered after the writes before it", () => {
    const r = rig();
    const tokens = r.w.transaction(() => {
      r.w.upsert("tags", { tag: "first" });
      const t = r.w.upsertMany("items", [{ id: 1, name: "a" }, { id: 2, name: null }]);
      r.w.upsert("tags", { tag: "last" });
      return t;
    });
    expect(tokens).toEqual([`${PEER}.2`, `${PEER}.3`]);
    expect(r.all("SELECT id, name, _sequenceId FROM items_patches ORDER BY 3")).toEqual([
      [1, "a", 2],
      [2, null, 3],
    ]);
    expect(r.all("SELECT tag, _sequenceId FROM tags_patches ORDER BY 2")).toEqual([
      ["first", 1],
      ["last", 4],
    ]);
    expect(r.merges).toEqual([
      { local: true, patches: 4, tables: ["tags", "items"], keys: { tags: [["first"], ["last"]], items: [[1], [2]] } },
    ]);
    expect(r.sentPatches().map((p) => [p.table, p.seq])).toEqual([
      ["tags", 1],
      ["items", 2],
      ["items", 3],
      ["tags", 4],
    ]);
    expect(r.origins.contiguous(PEER)).toBe(4);
  });

  it("inside transaction(): a caught failure undoes only the batch; the writes before it commit", () => {
    const r = rig();
    const good = Array.from({ length: 70 }, (_, i) => ({ id: i + 10, qty: i }));
    r.w.transaction(() => {
      r.w.upsert("items", { id: 1, qty: 1 });
      r.w.upsert("items", { id: 2, name: null });
      expect(codeOf(() => r.w.upsertMany("items", [...good, { id: 3, qty: -1 }]))).toBe("CONSTRAINT");
      expect(codeOf(() => r.w.upsertMany("items", [{ id: 4 }, { id: 5, nope: 1 }]))).toBe("UNKNOWN_COLUMN");
      r.w.upsertMany("items", [{ id: 6, qty: 6 }]);
    });
    expect(r.all("SELECT id, _sequenceId FROM items_patches ORDER BY 2")).toEqual([
      [1, 1],
      [2, 2],
      [6, 3],
    ]);
    expect(r.all("SELECT id FROM items ORDER BY id")).toEqual([[1], [2], [6]]);
    expect(r.all("SELECT peerId, seq FROM _replic_nulls")).toEqual([[PEER, 2]]);
    expect(r.merges[0]).toMatchObject({ patches: 3, keys: { items: [[1], [2], [6]] } });
    expect(r.sentPatches().map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it("inside transaction(): a rolled-back batch restores the newest timestamp seen", () => {
    const r = rig();
    r.w.transaction(() => {
      r.w.upsert("items", { id: 1 });
      const highest = r.book.highestTs;
      expect(codeOf(() => r.w.upsertMany("items", [{ id: 2 }, { id: 3, qty: -1 }]))).toBe("CONSTRAINT");
      expect(r.book.highestTs).toBe(highest);
    });
  });

  it("inside transaction(): a batch whose first row fails as a late merge is undone whole", () => {
    for (const listen of [true, false]) {
      const r = rig({ listen });
      r.book.highestTs = timestampFromMs(WALL + 10_000);
      r.w.transaction(() => {
        r.w.upsert("tags", { tag: "a" });
        expect(codeOf(() => r.w.upsertMany("items", [{ id: 1, qty: -1 }, { id: 2 }]))).toBe("CONSTRAINT");
      });
      expect(r.one("SELECT count(*) FROM items") + r.one("SELECT count(*) FROM items_patches")).toBe(0);
      expect(r.merges).toEqual(listen ? [{ local: true, patches: 1, tables: ["tags"], keys: { tags: [["a"]] } }] : []);
    }
  });

  it("rows stamped behind what was merged still merge by the rule", () => {
    const r = rig();
    const ahead = mergedAhead(r);
    r.w.upsertMany("items", [
      { id: 1, name: "local", qty: 1 },
      { id: 2, name: "two" },
    ]);
    r.w.transaction(() => r.w.upsertMany("items", [{ id: 1, name: "again", qty: 2 }]));
    expect(r.all("SELECT id, name, qty FROM items ORDER BY id")).toEqual([
      [1, "remote", 2],
      [2, "two", null],
    ]);
    expect(r.book.highestTs).toBe(ahead);
  });
});

describe("local writes: a patch stamped exactly at the newest timestamp merged", () => {
  // A remote patch of a higher peer id carries the very timestamp our next write gets: it wins
  // the tie, so our write must go through the probe, not straight into the row.
  function tied() {
    const r = rig();
    const ts = timestampFromMs(WALL);
    r.db.exec(`INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (1, 'remote', ${ts}, 1, ${PEER + 1})`);
    r.db.exec(`INSERT INTO items (id, name) VALUES (1, 'remote')`);
    r.book.highestTs = ts;
    return r;
  }

  it("upsert", () => {
    const r = tied();
    r.w.upsert("items", { id: 1, name: "local", qty: 1 });
    expect(r.all("SELECT id, name, qty FROM items")).toEqual([[1, "remote", 1]]);
  });

  it("upsertMany", () => {
    const r = tied();
    r.w.upsertMany("items", [{ id: 1, name: "local", qty: 1 }]);
    expect(r.all("SELECT id, name, qty FROM items")).toEqual([[1, "remote", 1]]);
  });
});

describe("local writes: a patch too large for a message", () => {
  /** The size of the one-patch message a write of this row sends. */
  function sentSize(row: Record<string, SqlValue>, ddl?: string): number {
    const r = rig({ ddl });
    r.w.upsert(ddl ? "t" : "items", row);
    return r.sent[0]!.length;
  }

  it("accepts a patch of exactly the limit and refuses one byte more, writing nothing", () => {
    const name = "x".repeat(300);
    const size = sentSize({ id: 1, name });
    const r = rig({ limits: { maxMessageBytes: size } });
    const before = r.snapshot();
    try {
      r.w.upsert("items", { id: 1, name: name + "y" });
      expect.unreachable();
    } catch (e) {
      expect(isReplicError(e) && e.code).toBe("PATCH_TOO_LARGE");
      expect((e as Error).message).toBe(`a patch of ${size + 1} bytes for "items" exceeds the ${size}-byte message limit`);
      expect((e as { table?: string }).table).toBe("items");
    }
    expect(codeOf(() => r.w.upsertMany("items", [{ id: 2 }, { id: 1, name: name + "y" }]))).toBe("PATCH_TOO_LARGE");
    expect(r.snapshot()).toBe(before);
    expect(r.w.upsert("items", { id: 1, name })).toBe(`${PEER}.1`);
    expect(r.sent.at(-1)!.length).toBe(size);
  });

  it("counts the table's names: long column names cannot slip a patch past the limit", () => {
    const cols = ["a", "b", "c", "d"].map((c) => c.repeat(120));
    const ddl = `CREATE TABLE t (id INTEGER PRIMARY KEY, ${cols.map((c) => `${c} TEXT`).join(", ")});
CREATE TABLE t_patches (id INTEGER, ${cols.map((c) => `${c} TEXT`).join(", ")}, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
    const size = sentSize({ id: 1 }, ddl);
    expect(size).toBeGreaterThan(480);
    const r = rig({ ddl, limits: { maxMessageBytes: size - 1 } });
    expect(codeOf(() => r.w.upsert("t", { id: 1 }))).toBe("PATCH_TOO_LARGE");
    expect(codeOf(() => r.w.upsertMany("t", [{ id: 1 }]))).toBe("PATCH_TOO_LARGE");
    expect(r.one("SELECT count(*) FROM t_patches")).toBe(0);
  });

  it("counts multi-byte names and values: refused one byte over the limit, accepted at it", () => {
    const e = "\u20ac"; // three bytes in UTF-8
    const table = e.repeat(40);
    const ddl = `CREATE TABLE "${table}" (id INTEGER PRIMARY KEY, "${e.repeat(5)}" TEXT);
CREATE TABLE "${table}_patches" (id INTEGER, "${e.repeat(5)}" TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
    const row = { id: 1, [e.repeat(5)]: e.repeat(60) };
    const size = (() => {
      const r = rig({ ddl });
      r.w.upsert(table, row);
      return r.sent[0]!.length;
    })();
    const over = rig({ ddl, limits: { maxMessageBytes: size - 1 } });
    expect(codeOf(() => over.w.upsert(table, row))).toBe("PATCH_TOO_LARGE");
    const at = rig({ ddl, limits: { maxMessageBytes: size } });
    expect(at.w.upsert(table, row)).toBe(`${PEER}.1`);
  });

  it("counts a multi-byte sequence number", () => {
    const name = "x".repeat(300);
    const r0 = rig();
    for (let i = 1; i < 127; i++) r0.w.upsert("items", { id: i });
    r0.w.upsert("items", { id: 1, name });
    const at127 = r0.sent.at(-1)!.length;
    r0.w.upsert("items", { id: 1, name });
    const at128 = r0.sent.at(-1)!.length;
    expect(at128).toBe(at127 + 1);
    const r = rig({ limits: { maxMessageBytes: at127 } });
    r.w.transaction(() => {
      for (let i = 1; i < 127; i++) r.w.upsert("items", { id: i });
    });
    const rows = [
      { id: 1, name },
      { id: 2, name },
    ];
    // 127 fits and 128 does not, whether the rows are checked one by one or all before writing.
    expect(codeOf(() => r.w.upsertMany("items", rows))).toBe("PATCH_TOO_LARGE");
    expect(codeOf(() => r.w.transaction(() => r.w.upsertMany("items", rows)))).toBe("PATCH_TOO_LARGE");
    expect(r.book.seq).toBe(126);
    expect(r.w.upsert("items", { id: 1, name })).toBe(`${PEER}.127`);
    expect(codeOf(() => r.w.upsert("items", { id: 1, name }))).toBe("PATCH_TOO_LARGE");
  });
});

describe("local writes: a failure at commit", () => {
  it("a patch row SQLite refuses at commit is a typed error naming the table; nothing is written", () => {
    const trigger = `CREATE TRIGGER no_zero BEFORE INSERT ON items_patches WHEN NEW.deletedAt = 0 BEGIN SELECT RAISE(ABORT, 'deletedAt 0 refused'); END;`;
    const r = rig({ ddl: `${CHECKED_DDL}\n${TAGS_DDL}\n${trigger}` });
    const before = r.snapshot();
    try {
      r.w.upsert("items", { id: 1, deletedAt: 0 });
      expect.unreachable();
    } catch (e) {
      expect(isReplicError(e) && e.code).toBe("SQLITE");
      expect((e as Error).message).toBe('SQLite failed on "items": deletedAt 0 refused');
    }
    expect(r.snapshot()).toBe(before);
    expect(r.w.upsert("items", { id: 1, deletedAt: 1 })).toBe(`${PEER}.1`);
  });

  it("a failing COMMIT (a deferred foreign key) is a typed error; nothing is written", () => {
    const d = testDriver();
    d.exec("PRAGMA foreign_keys = ON");
    const ddl = `CREATE TABLE owners (id INTEGER PRIMARY KEY);
CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES owners (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE pets_patches (id INTEGER, owner INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
    const r = rig({ driver: d, ddl });
    try {
      r.w.upsert("pets", { id: 1, owner: 5 });
      expect.unreachable();
    } catch (e) {
      expect(isReplicError(e) && e.code).toBe("CONSTRAINT");
      expect((e as Error).message).toMatch(/FOREIGN KEY constraint failed/);
    }
    expect(r.one("SELECT count(*) FROM pets") + r.one("SELECT count(*) FROM pets_patches")).toBe(0);
    expect(r.book.seq).toBe(0);
    expect(r.tx.broken).toBeUndefined();
    d.exec("INSERT INTO owners (id) VALUES (5)");
    expect(r.w.upsert("pets", { id: 1, owner: 5 })).toBe(`${PEER}.1`);
  });
});

describe("local writes: another writer under our id", () => {
  it("a patch row of ours we did not write makes the write fail with IDENTITY_CONFLICT, writing nothing", () => {
    for (const via of ["upsert", "upsertMany", "late upsert"] as const) {
      const r = rig();
      r.db.exec(`INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (50, 'forged', 1, 1, ${PEER})`);
      if (via === "late upsert") r.book.highestTs = timestampFromMs(WALL + 10_000);
      const before = r.snapshot();
      const code = codeOf(() => (via === "upsertMany" ? r.w.upsertMany("items", [{ id: 1 }]) : r.w.upsert("items", { id: 1 })));
      expect([via, code]).toEqual([via, "IDENTITY_CONFLICT"]);
      expect(r.snapshot()).toBe(before);
    }
  });

  it("inside transaction(): the batch fails with IDENTITY_CONFLICT and the transaction can go on", () => {
    const r = rig();
    r.db.exec(`INSERT INTO items_patches (id, name, _patchedAt, _sequenceId, _peerId) VALUES (50, 'forged', 1, 2, ${PEER})`);
    expect(
      codeOf(() =>
        r.w.transaction(() => {
          r.w.upsert("tags", { tag: "a" });
          expect(codeOf(() => r.w.upsertMany("items", [{ id: 1 }, { id: 2 }]))).toBe("IDENTITY_CONFLICT");
          return r.tx.broken;
        }),
      ),
    ).toBe("no error");
    expect(r.all("SELECT tag, _sequenceId FROM tags_patches")).toEqual([["a", 1]]);
    expect(r.one("SELECT count(*) FROM items")).toBe(0);
  });

  describe("another replica opened on the same file", () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    it("the superseded replica rolls back, reports IDENTITY_CONFLICT and stops", () => {
      const dir = mkdtempSync(join(tmpdir(), "replic-lw-"));
      dirs.push(dir);
      const file = join(dir, "db.sqlite");
      const first = rig({ driver: testDriver(new Database(file)) });
      first.w.upsert("items", { id: 1 });
      const second = rig({ driver: testDriver(new Database(file)), ddl: "" });
      const before = first.snapshot();
      expect(codeOf(() => first.w.upsert("items", { id: 2 }))).toBe("IDENTITY_CONFLICT");
      expect(first.tx.broken?.code).toBe("IDENTITY_CONFLICT");
      expect(first.snapshot()).toBe(before);
      // A failure that is not a takeover is reported as itself and does not stop the newest replica.
      // (Its sequence as openReplica recovers it from the patch tables: its patch row is stored
      // before the constraint check of a table with constraints.)
      second.book.seq = 1;
      expect(codeOf(() => second.w.upsert("items", { id: 3, qty: -1 }))).toBe("CONSTRAINT");
      expect(second.tx.broken).toBeUndefined();
      first.db.close();
      second.db.close();
    });

    it("a failure whose cause cannot be read reports the original error", () => {
      const dir = mkdtempSync(join(tmpdir(), "replic-lw-"));
      dirs.push(dir);
      const db = new Database(join(dir, "db.sqlite"));
      const base = testDriver(db);
      let failWriterRead = false;
      const driver: SqliteDriver = {
        ...base,
        prepare(sql) {
          const s = base.prepare(sql);
          if (!/SELECT writer FROM/.test(sql)) return s;
          return { ...s, get: (p) => (failWriterRead ? (() => { throw new Error("disk I/O error"); })() : s.get(p)) };
        },
      };
      const r = rig({ driver });
      r.w.upsert("items", { id: 1 });
      failWriterRead = true;
      expect(codeOf(() => r.w.upsert("items", { id: 2, qty: -1 }))).toBe("CONSTRAINT");
      expect(r.tx.broken).toBeUndefined();
      db.close();
    });
  });
});

describe("local writes: one group per transaction", () => {
  it("a transaction's patches share the stamp of its first write, its bounds are kept, and the batch names its group", () => {
    const r = rig();
    r.w.upsert("items", { id: 1, name: "alone" }); // a group of its own: no bounds kept
    expect(r.all("SELECT * FROM _replic_groups")).toEqual([]);
    r.w.transaction(() => {
      r.w.upsert("items", { id: 2, name: "a" });
      r.w.upsertMany("tags", [{ tag: "x" }, { tag: "y" }]);
      r.w.upsert("items", { id: 2, qty: 3 }); // the same row again, later in the group: it wins
    });
    const stamps = r.all("SELECT DISTINCT _patchedAt FROM items_patches WHERE _sequenceId > 1 UNION SELECT DISTINCT _patchedAt FROM tags_patches");
    expect(stamps).toHaveLength(1);
    expect(r.all("SELECT peerId, first, last FROM _replic_groups")).toEqual([[PEER, 2, 5]]);
    expect(r.all("SELECT id, name, qty FROM items WHERE id = 2")).toEqual([[2, "a", 3]]);
    const msg = decodeMessage(r.sent[r.sent.length - 1]!);
    expect(msg.kind === "patches" && msg.groups).toEqual([{ peerId: PEER, first: 2, last: 5 }]);
    // The next transaction takes a new, higher stamp.
    r.w.transaction(() => {
      r.w.upsert("items", { id: 3 });
      r.w.upsert("items", { id: 4 });
    });
    const next = r.all("SELECT DISTINCT _patchedAt FROM items_patches WHERE _sequenceId >= 6");
    expect(next).toHaveLength(1);
    expect(Number((next[0] as unknown[])[0]) > Number((stamps[0] as unknown[])[0])).toBe(true);
    expect(r.all("SELECT peerId, first, last FROM _replic_groups ORDER BY last")).toEqual([
      [PEER, 2, 5],
      [PEER, 6, 7],
    ]);
  });

  it("a transaction above limits.maxGroupPatches is GROUP_TOO_LARGE and writes nothing", () => {
    const r = rig({ limits: { maxGroupPatches: 3 } });
    const before = r.snapshot();
    expect(
      codeOf(() =>
        r.w.transaction(() => {
          for (let i = 1; i <= 4; i++) r.w.upsert("items", { id: i });
        }),
      ),
    ).toBe("GROUP_TOO_LARGE");
    expect(r.snapshot()).toBe(before);
    expect(r.all("SELECT * FROM _replic_groups")).toEqual([]);
    // At the limit it commits.
    r.w.transaction(() => {
      for (let i = 1; i <= 3; i++) r.w.upsert("items", { id: i });
    });
    expect(r.book.seq).toBe(3);
  });
});
