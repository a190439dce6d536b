// The hold of far-future patches (src/held-patches.ts): stored as one-patch messages, counted,
// listed when due (oldest first), released, and found again after a reopen.
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog.js";
import { HeldPatches } from "../../src/held-patches.js";
import { Origins } from "../../src/origins.js";
import { decodeMessage } from "../../src/wire/message.js";
import { testDriver } from "../helpers.js";
import { ITEMS_DDL } from "../sim.js";

const bytes = (...b: number[]) => new Uint8Array(b);
const rowsOf = (h: HeldPatches, ts: number) => h.due(ts).map((r) => [r.peerId, r.seq, [...r.bytes]]);

describe("HeldPatches", () => {
  it("stores each (peer, sequence) once and counts what it holds", () => {
    const d = testDriver();
    const h = new HeldPatches(d);
    expect(h.count).toBe(0);
    expect(h.holdBytes(2, 1, 300, bytes(1))).toBe(true);
    expect(h.holdBytes(2, 2, 100, bytes(2))).toBe(true);
    expect(h.holdBytes(2, 1, 300, bytes(9))).toBe(false);
    expect(h.holdBytes(3, 1, 200, bytes(3))).toBe(true);
    expect(h.count).toBe(3);
    expect(d.db.prepare("SELECT count(*) FROM _replic_held").pluck().get()).toBe(3);
  });

  it("lists the patches due at a timestamp, oldest first, the bound included", () => {
    const h = new HeldPatches(testDriver());
    h.holdBytes(2, 1, 300, bytes(1));
    h.holdBytes(2, 2, 100, bytes(2));
    h.holdBytes(3, 1, 200, bytes(3, 4));
    expect(rowsOf(h, 99)).toEqual([]);
    expect(rowsOf(h, 200)).toEqual([
      [2, 2, [2]],
      [3, 1, [3, 4]],
    ]);
    expect(rowsOf(h, 1000)).toEqual([
      [2, 2, [2]],
      [3, 1, [3, 4]],
      [2, 1, [1]],
    ]);
  });

  it("releases one patch at a time, counting only what was held", () => {
    const h = new HeldPatches(testDriver());
    h.holdBytes(2, 1, 300, bytes(1));
    h.holdBytes(2, 2, 100, bytes(2));
    h.release(2, 2);
    expect(h.count).toBe(1);
    h.release(2, 2);
    h.release(7, 1);
    expect(h.count).toBe(1);
    expect(rowsOf(h, 1000)).toEqual([[2, 1, [1]]]);
    h.release(2, 1);
    expect(h.count).toBe(0);
    expect(rowsOf(h, 1000)).toEqual([]);
  });

  it("after a reopen, counts what the table holds and marks it in each origin", () => {
    const d = testDriver();
    const first = new HeldPatches(d);
    first.holdBytes(2, 5, 300, bytes(1));
    first.holdBytes(2, 7, 300, bytes(1));
    first.holdBytes(4, 1, 300, bytes(1));
    const h = new HeldPatches(d);
    const origins = new Origins();
    h.load(origins);
    expect(h.count).toBe(3);
    expect([...origins.get(2).held].sort()).toEqual([5, 7]);
    expect([...origins.get(4).held]).toEqual([1]);
    expect(origins.get(2).contiguous).toBe(0);
    expect(rowsOf(h, 300)).toHaveLength(3);
  });

  it("holds a local patch as a one-patch message that decodes to it", () => {
    const d = testDriver();
    d.exec(ITEMS_DDL);
    const items = new Catalog(d).get("items");
    const h = new HeldPatches(d);
    const p = { table: items, peerId: 2, seq: 3, patchedAt: 5000, cols: [0, 1, 2], values: [1, "a".repeat(100), 4] };
    expect(h.hold(p)).toBe(true);
    expect(h.hold(p)).toBe(false);
    expect(h.count).toBe(1);
    const [row] = h.due(5000);
    expect(row).toMatchObject({ peerId: 2, seq: 3 });
    expect(decodeMessage(row!.bytes)).toEqual({
      kind: "patches",
      patches: [{ table: "items", peerId: 2, seq: 3, patchedAt: 5000, values: { id: 1, name: "a".repeat(100), qty: 4 } }],
    });
    expect(h.due(4999)).toEqual([]);
  });
});

describe("HeldPatches.releaseVersion", () => {
  it("ends a hold only for the version held (same stamp), and counts it", () => {
    const h = new HeldPatches(testDriver());
    h.holdBytes(2, 1, 300, bytes(1));
    h.holdBytes(2, 2, 300, bytes(2));
    expect(h.releaseVersion(2, 1, 299)).toBe(false);
    expect(h.releaseVersion(3, 1, 300)).toBe(false);
    expect(h.count).toBe(2);
    expect(h.releaseVersion(2, 1, 300)).toBe(true);
    expect(h.count).toBe(1);
    expect(h.releaseVersion(2, 1, 300)).toBe(false);
    expect(h.count).toBe(1);
    expect(rowsOf(h, 1000)).toEqual([[2, 2, [2]]]);
  });
});
