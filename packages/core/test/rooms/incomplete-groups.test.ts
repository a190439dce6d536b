// The parts of groups not complete yet (src/incomplete-groups.ts): stored once each, marked in
// their origin's state, removed with their group, and put back exactly by a rollback.
import { describe, expect, it } from "vitest";
import { IncompleteGroups } from "../../src/incomplete-groups.js";
import { Origins } from "../../src/origins.js";
import { testDriver } from "../helpers.js";

const g = { peerId: 2, first: 1, last: 4 };
const part = (n: number) => new Uint8Array([n]);

describe("IncompleteGroups", () => {
  it("stores a part once, marks it in its origin's state, and removes the group's parts with their marks", () => {
    const d = testDriver();
    const inc = new IncompleteGroups(d);
    const origin = new Origins().get(2);
    inc.begin();
    expect(inc.store(g, 1, 500, part(1), origin)).toBe(true);
    expect(inc.store(g, 3, 500, part(3), origin)).toBe(true);
    expect(inc.store(g, 3, 500, part(9), origin)).toBe(false);
    expect(inc.count).toBe(2);
    expect([...origin.incomplete]).toEqual([1, 3]);
    expect(inc.overlapping(2, 4, 9)).toMatchObject({ group: g, parts: 2, patchedAt: 500 });
    expect(inc.parts(g, 2, 10).map((r) => [r.seq, [...r.bytes]])).toEqual([[3, [3]]]);
    expect(inc.parts(g, 1, 1).map((r) => r.seq)).toEqual([1]);
    inc.remove(g, origin);
    expect(inc.count).toBe(0);
    expect(origin.incomplete.size).toBe(0);
    expect(inc.overlapping(2, 1, 4)).toBeUndefined();
    expect(d.db.prepare("SELECT count(*) FROM _replic_incomplete").pluck().get()).toBe(0);
  });

  it("a rollback puts back the parts counted, the groups waiting and the origin's marks, newest change first", () => {
    const d = testDriver();
    const inc = new IncompleteGroups(d);
    const origin = new Origins().get(2);
    inc.begin();
    inc.store(g, 1, 500, part(1), origin);
    inc.store(g, 2, 500, part(2), origin);
    const restore = inc.begin();
    // In the transaction: one more part, then the group taken whole (its rows would go with the rollback).
    inc.store(g, 4, 500, part(4), origin);
    inc.remove(g, origin);
    inc.store({ peerId: 2, first: 7, last: 8 }, 7, 600, part(7), origin);
    expect([...origin.incomplete]).toEqual([7]);
    restore();
    expect(inc.count).toBe(2);
    expect([...origin.incomplete].sort()).toEqual([1, 2]);
    expect(inc.overlapping(2, 1, 4)).toMatchObject({ parts: 2 });
    expect(inc.overlapping(2, 7, 8)).toBeUndefined();
    expect(inc.status(0)).toMatchObject({ count: 1, patches: 2 });
  });
});
