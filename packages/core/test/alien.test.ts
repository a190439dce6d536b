/**
 * Alien data in the engine's own terms: it counts as held (also after a restart), far-future
 * alien patches are held like any, floods are bounded by the decoder limits, retention collects
 * kept patches, and an echo of our own patch kept through a rollback is a plain duplicate.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, DecodeError, decodeMessage, encodeMessage, timestampFromMs, type Replica } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { versionedMigrations } from "./versions.js";

const V = versionedMigrations(false);
const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function peer(id: number, version: number, opts: Record<string, unknown> = {}, d = testDriver()) {
  const r = createReplica(d, { peerId: id, heartbeatMs: 0, ...opts });
  open.push(r);
  r.migrate(V.slice(0, version));
  return { r, d };
}

const NOW = 1_760_000_000_000;
const ts = (ms: number) => timestampFromMs(NOW + ms);
/** Patches of origin 7: seq 1 an unknown table, seq 2 a known row with an unknown column, seq 3 known. */
const message = () =>
  encodeMessage({
    kind: "patches",
    patches: [
      { table: "extras", peerId: 7, seq: 1, patchedAt: ts(1), values: { id: 1, v: "x" } },
      { table: "items", peerId: 7, seq: 2, patchedAt: ts(2), values: { id: 1, name: "n", price: 2.5 } },
      { table: "items", peerId: 7, seq: 3, patchedAt: ts(3), values: { id: 2, qty: 4 } },
    ],
  });

describe("alien patches in the engine", () => {
  it("count as held for heads, also after a restart, and merge when the schema catches up", () => {
    let now = NOW + 10;
    const { r, d } = peer(1, 1, { now: () => now });
    r.receive(7, message());
    const origin = () => r.status().origins.find((o) => o.peerId === 7)!;
    expect(origin().contiguous).toBe(3);
    expect(r.status().alienPatches).toEqual([
      { table: "extras", patches: 1, columns: { id: 1, v: 1 } },
      { table: "items", patches: 1, columns: { price: 1 } },
    ]);
    r.close();
    const again = createReplica(d, { peerId: 1, heartbeatMs: 0, now: () => now });
    open.push(again);
    expect(again.status().origins.find((o) => o.peerId === 7)!.contiguous).toBe(3);
    const events: unknown[] = [];
    again.on("merge", (e) => events.push(e));
    again.migrate(V);
    // Rows changed by the migration's merge of kept patches are announced like any merge.
    expect(events).toEqual([{ local: false, patches: 2, tables: ["items", "extras"], keys: { items: [[1]], extras: [[1]] } }]);
    now += 1;
    expect(d.db.prepare("SELECT id, name, qty, price FROM items ORDER BY id").raw(true).all()).toEqual([
      [1, "n", null, 2.5],
      [2, null, 4, null],
    ]);
    expect(d.db.prepare("SELECT id, v FROM extras").raw(true).all()).toEqual([[1, "x"]]);
    expect(again.status().alienPatches).toEqual([]);
  });

  it("far-future alien patches are held whole, then kept once the clock is within the bound", () => {
    let now = NOW;
    const { r, d } = peer(1, 1, { now: () => now, maxClockDriftMs: 1000 });
    r.receive(7, encodeMessage({ kind: "patches", patches: [{ table: "items", peerId: 7, seq: 1, patchedAt: ts(60_000), values: { id: 1, name: "later", price: 1 } }] }));
    expect(r.status().heldPatches).toBe(1);
    expect(r.status().alienPatches).toEqual([]);
    now += 120_000;
    r.tick();
    expect(r.status().heldPatches).toBe(0);
    expect(r.status().alienPatches).toEqual([{ table: "items", patches: 1, columns: { price: 1 } }]);
    r.migrate(V.slice(0, 2));
    expect(d.db.prepare("SELECT name, price FROM items").raw(true).all()).toEqual([["later", 1]]);
  });

  it("a flood of alien patches is bounded by the decoder limits: refused whole, nothing kept", () => {
    const { r } = peer(1, 1, { limits: { maxPatches: 2 } });
    expect(() => r.receive(7, message())).toThrow(DecodeError);
    expect(r.status().alienPatches).toEqual([]);
    expect(r.status().origins.find((o) => o.peerId === 7)).toBeUndefined();
  });

  it("retention collects kept alien data like any patch", () => {
    let now = NOW + 10;
    const { r } = peer(1, 1, { now: () => now, retentionMs: 60_000 });
    r.receive(7, message());
    expect(r.status().alienPatches.length).toBe(2);
    now += 120_000;
    expect(r.gc()).toBe(2); // the two patches with a table here; the kept ones go with them
    expect(r.status().alienPatches).toEqual([]);
    expect(r.metrics()).not.toMatch(/replic_alien_patches\{/);
  });

  it("a rollback after retention collected the patches still loses nothing (values kept from T itself)", () => {
    let now = NOW;
    const { r, d } = peer(1, 3, { now: () => now, retentionMs: 60_000 });
    r.upsert("items", { id: 1, name: "a", price: 1.5 });
    r.upsert("extras", { id: 1, v: "old" });
    now += 120_000;
    r.upsert("items", { id: 2, price: 3 });
    r.upsert("items", { id: 3, price: 4 });
    expect(r.gc()).toBe(2);
    r.migrate(V.slice(0, 1)); // drops price and extras
    now += 1;
    r.upsert("items", { id: 1, name: "b" });
    r.migrate(V.slice(0, 2));
    r.upsert("items", { id: 3, price: 5 });
    r.migrate(V);
    expect(d.db.prepare("SELECT id, name, price FROM items ORDER BY id").raw(true).all()).toEqual([
      [1, "b", 1.5],
      [2, null, 3],
      [3, null, 5],
    ]);
    expect(d.db.prepare("SELECT id, v FROM extras").raw(true).all()).toEqual([[1, "old"]]);
    expect(d.db.prepare("SELECT count(*) FROM _replic_dropped").pluck().get()).toBe(0);
  });

  it("an echo of our own patch kept through a rollback is a duplicate, not a second writer", () => {
    const { r } = peer(1, 3);
    const sent: Uint8Array[] = [];
    r.addPeer(2, (m) => sent.push(m));
    r.upsert("extras", { id: 1, v: "mine" });
    const echo = sent[0]!;
    const p = (decodeMessage(echo) as { patches: { patchedAt: number }[] }).patches[0]!;
    const forged = encodeMessage({ kind: "patches", patches: [{ table: "extras", peerId: 1, seq: 1, patchedAt: p.patchedAt + 1, values: { id: 1, v: "not mine" } }] });
    r.migrate(V.slice(0, 2)); // drops extras: its patch is kept as alien data
    expect(r.status().alienPatches).toEqual([{ table: "extras", patches: 1, columns: { id: 1, v: 1 } }]);
    r.receive(2, echo);
    expect(r.status().identityConflicts.count).toBe(0);
    r.receive(2, forged);
    expect(r.status().identityConflicts.count).toBe(1);
    r.migrate(V);
    expect(r.status().alienPatches).toEqual([]);
    expect(r.upsert("extras", { id: 2 })).toBe("1.2");
  });
});
