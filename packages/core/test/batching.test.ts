/**
 * The batched write paths (receive() and upsertMany() write many rows per statement) must
 * give exactly the rows of the one-statement-per-patch path and of the model.
 */
import { describe, expect, it } from "vitest";
import { createReplica, decodeMessage, encodeMessage, ValidationError, type Patch, type SqlValue } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { modelTable } from "./model.js";
import { ITEMS_DDL, rng, seededItemsDdl } from "./sim.js";

const COLUMNS = ["id", "name", "qty", "price", "deletedAt"];
const CHECKED_DDL = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER CHECK (qty IS NULL OR qty >= 0), price REAL, deletedAt INTEGER);
CREATE TABLE items_patches (id INTEGER, name TEXT, qty INTEGER, price REAL, deletedAt INTEGER,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL,
  PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;`;

function peer(id: number, ddl = ITEMS_DDL, opts: Record<string, unknown> = {}) {
  const d = testDriver();
  const r = createReplica(d, { peerId: id, heartbeatMs: 0, maxBatchPatches: 100_000, ...opts });
  r.migrate([{ up: ddl, down: "" }]);
  const dump = () => JSON.stringify(d.db.prepare("SELECT * FROM items ORDER BY id").raw(true).all());
  const count = (sql: string) => d.db.prepare(sql).pluck().get() as number;
  return { r, db: d.db, dump, count };
}

function randomRow(r: ReturnType<typeof rng>, keys: number): Record<string, SqlValue> {
  const row: Record<string, SqlValue> = { id: r.int(keys) };
  for (const c of COLUMNS.slice(1)) {
    if (!r.chance(0.6)) continue;
    row[c] = r.chance(0.15) ? null : c === "name" ? `n${r.int(50)}` : c === "price" ? r.int(100) / 4 : r.int(1000);
  }
  return row;
}

describe("batched writes", () => {
  it("big interleaved messages from several writers merge exactly like the model", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const ddl = seededItemsDdl(seed); // both patch-table layouts, both places for explicit NULLs
      // Writer 13's clock runs years ahead; the others follow it (a wide drift bound) so its
      // patches merge at once and orders interleave.
      const wide = { maxClockDriftMs: 20 * 365 * 24 * 3600_000 };
      const writers = [peer(11, ddl, wide), peer(12, ITEMS_DDL, wide), peer(13, ddl, { ...wide, now: () => 1_900_000_000_000 })];
      const messages: Uint8Array[] = [];
      for (const w of writers) w.r.addPeer(99, (m) => messages.push(m));
      // Writers hear each other now and then, so clocks interleave and many patches arrive late.
      for (let round = 0; round < 6; round++) {
        for (const w of writers) {
          const rows = Array.from({ length: 50 + r.int(300) }, () => randomRow(r, 12));
          if (r.chance(0.5)) w.r.upsertMany("items", rows);
          else w.r.transaction(() => rows.forEach((row) => w.r.upsert("items", row)));
        }
        const other = writers[r.int(3)]!;
        for (const m of messages.slice(-3)) other.r.receive(99, m);
      }
      const patches: Patch[] = messages.flatMap((m) => {
        const d = decodeMessage(m);
        return d.kind === "patches" ? d.patches : [];
      });
      const expected = JSON.stringify(modelTable(patches, "id", COLUMNS).map((row) => COLUMNS.map((c) => row[c])));
      // Deliver in shuffled order, with repeats, to a fresh replica.
      const target = peer(50, ddl, wide);
      const order = messages.map((_, i) => i).sort(() => r.next() - 0.5);
      for (const i of [...order, ...order.slice(0, 3)]) target.r.receive(99, messages[i]!);
      expect(target.dump(), `seed ${seed}`).toBe(expected);
      // A message carrying one patch twice falls back to one statement per patch.
      const first = decodeMessage(messages[0]!);
      if (first.kind !== "patches") throw new Error("kind");
      const twice = encodeMessage({ kind: "patches", patches: [...first.patches, first.patches[0]!] });
      const fresh = peer(51, ITEMS_DDL, wide);
      fresh.r.receive(99, twice);
      expect(fresh.count("SELECT count(*) FROM items_patches")).toBe(first.patches.length);
    }
  }, 120_000);

  it("upsertMany: one transaction, one message, consecutive tokens, same rows as upsert calls", () => {
    const a = peer(1), b = peer(2);
    const sent: Uint8Array[] = [];
    a.r.addPeer(3, (m) => sent.push(m));
    const r = rng(5);
    const rows = Array.from({ length: 1000 }, () => randomRow(r, 40));
    const tokens = a.r.upsertMany("items", rows);
    expect(tokens).toEqual(rows.map((_, i) => `1.${i + 1}`));
    expect(sent).toHaveLength(1);
    b.r.transaction(() => rows.forEach((row) => b.r.upsert("items", row)));
    expect(a.dump()).toBe(b.dump());
    expect(a.r.upsert("items", { id: 1 })).toBe("1.1001");
  });

  it("upsertMany refuses a bad row before writing anything", () => {
    const a = peer(1);
    a.r.upsert("items", { id: 1, name: "kept" });
    const before = a.dump();
    expect(() => a.r.upsertMany("items", [{ id: 2 }, { id: 3, qty: Number.NaN }])).toThrow(ValidationError);
    expect(() => a.r.upsertMany("items", [{ id: 2 }, { nope: 1 } as never])).toThrow(ValidationError);
    expect(a.dump()).toBe(before);
    expect(a.r.upsert("items", { id: 4 })).toBe("1.2");
  });

  it("a write SQLite refuses (CHECK) writes nothing, also when caught inside transaction()", () => {
    const a = peer(1, CHECKED_DDL);
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => sent.push(m));
    expect(() => a.r.upsertMany("items", [{ id: 1, qty: 1 }, { id: 2, qty: -1 }])).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
    expect(a.count("SELECT count(*) FROM items")).toBe(0);
    expect(a.count("SELECT count(*) FROM items_patches")).toBe(0);
    const tokens = a.r.transaction(() => {
      const t1 = a.r.upsert("items", { id: 1, qty: 1 });
      expect(() => a.r.upsert("items", { id: 2, qty: -5 })).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
      expect(() => a.r.upsertMany("items", [{ id: 3, qty: 3 }, { id: 4, qty: -4 }])).toThrow(expect.objectContaining({ code: "CONSTRAINT" }));
      const t2 = a.r.upsertMany("items", [{ id: 5, qty: 5 }]);
      return [t1, ...t2];
    });
    expect(tokens).toEqual(["1.1", "1.2"]);
    expect(a.count("SELECT count(*) FROM items")).toBe(2);
    expect(JSON.stringify(a.db.prepare("SELECT _sequenceId FROM items_patches ORDER BY 1").pluck().all())).toBe("[1,2]");
    const m = decodeMessage(sent[0]!);
    expect(m.kind === "patches" && m.patches.map((p) => p.seq)).toEqual([1, 2]);
  });
});
