// The parts of groups not complete yet (src/incomplete-groups.ts): stored in runs of consecutive
// parts, marked in their origin's state, removed with their group, put back exactly by a
// rollback, and read again at open — also from a table an older build wrote, one part per row.
import { describe, expect, it } from "vitest";
import { IncompleteGroups } from "../../src/incomplete-groups.js";
import { Origins } from "../../src/origins.js";
import { testDriver } from "../helpers.js";

const g = { peerId: 2, first: 1, last: 6 };
const bytes = (n: number) => new Uint8Array([n]);

describe("IncompleteGroups", () => {
  it("stores a run once, marks each of its parts, and removes the group's runs with their marks", () => {
    const d = testDriver();
    const inc = new IncompleteGroups(d);
    const origin = new Origins().get(2);
    inc.begin();
    expect(inc.store(g, 1, 3, 500, bytes(1), origin)).toBe(3);
    expect(inc.store(g, 5, 5, 500, bytes(5), origin)).toBe(1);
    expect(inc.store(g, 5, 5, 500, bytes(9), origin)).toBe(0);
    expect(inc.count).toBe(4);
    expect([...origin.incomplete]).toEqual([1, 2, 3, 5]);
    expect(inc.overlapping(2, 6, 9)).toMatchObject({ group: g, parts: 4, patchedAt: 500 });
    expect(inc.parts(g, 2, 10).map((r) => [r.seq, [...r.bytes]])).toEqual([[5, [5]]]);
    expect(inc.parts(g, 1, 1).map((r) => r.seq)).toEqual([1]);
    inc.remove(g, origin);
    expect(inc.count).toBe(0);
    expect(origin.incomplete.size).toBe(0);
    expect(inc.overlapping(2, 1, 6)).toBeUndefined();
    expect(d.db.prepare("SELECT count(*) FROM _replic_incomplete").pluck().get()).toBe(0);
  });

  it("a rollback puts back the parts counted, the groups waiting and the origin's marks, newest change first", () => {
    const inc = new IncompleteGroups(testDriver());
    const origin = new Origins().get(2);
    inc.begin();
    inc.store(g, 1, 2, 500, bytes(1), origin);
    const restore = inc.begin();
    // In the transaction: one more run, then the group taken whole (its rows would go with the rollback).
    inc.store(g, 4, 6, 500, bytes(4), origin);
    inc.remove(g, origin);
    inc.store({ peerId: 2, first: 7, last: 8 }, 7, 7, 600, bytes(7), origin);
    expect([...origin.incomplete]).toEqual([7]);
    restore();
    expect(inc.count).toBe(2);
    expect([...origin.incomplete].sort()).toEqual([1, 2]);
    expect(inc.overlapping(2, 1, 6)).toMatchObject({ parts: 2 });
    expect(inc.overlapping(2, 7, 8)).toBeUndefined();
    expect(inc.status(0)).toMatchObject({ count: 1, patches: 2 });
  });

  it("reads runs back at open, and a table of one part per row from an older build (it gains the run column)", () => {
    const d = testDriver();
    d.db.exec(`CREATE TABLE _replic_incomplete (
      peerId INTEGER NOT NULL, seq INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
      patchedAt INTEGER NOT NULL, bytes BLOB NOT NULL,
      PRIMARY KEY (peerId, seq)) WITHOUT ROWID`);
    const old = d.db.prepare("INSERT INTO _replic_incomplete VALUES (?, ?, ?, ?, ?, ?)");
    old.run(2, 1, 1, 6, 500, Buffer.from([1]));
    old.run(2, 2, 1, 6, 500, Buffer.from([2]));
    const inc = new IncompleteGroups(d);
    const origin = new Origins();
    inc.begin();
    inc.store(g, 4, 6, 500, bytes(4), origin.get(2));
    const again = new IncompleteGroups(d);
    const origins = new Origins();
    again.load(origins);
    expect(again.count).toBe(5);
    expect([...origins.get(2).incomplete].sort()).toEqual([1, 2, 4, 5, 6]);
    expect(again.overlapping(2, 3, 3)).toMatchObject({ group: g, parts: 5, patchedAt: 500 });
    expect(again.parts(g, 1, 10).map((r) => r.seq)).toEqual([1, 2, 4]);
  });
});
