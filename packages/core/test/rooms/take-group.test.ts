// The parts of one group a message carries (src/take-group.ts), driven directly: parts that wait
// are stored as runs of consecutive parts in sequence order (an alien part alone); a group
// completes with the parts stored before, read back into memory up to `maxGroupInMemory` and left
// to merge from storage above it, or with sequences its origin already holds; parts that disagree
// with what is known of the group are refused whole; waiting is bounded.
import { describe, expect, it } from "vitest";
import { aliensOf } from "../../src/alien-intake.js";
import { Catalog } from "../../src/catalog.js";
import { noEffects, type Effects } from "../../src/effects.js";
import { GroupBounds } from "../../src/group-bounds.js";
import { IncompleteGroups } from "../../src/incomplete-groups.js";
import type { GroupParts } from "../../src/intake.js";
import { Origins } from "../../src/origins.js";
import type { MappedPatches } from "../../src/patch-mapping.js";
import { takeGroup, type TakeGroupRooms } from "../../src/take-group.js";
import { decodeWire } from "../../src/wire/decoder.js";
import { encodeWire } from "../../src/wire/encoder.js";
import type { WireGroup } from "../../src/wire/types.js";
import { mapPatches } from "../../src/wire-mapping.js";
import { testDriver } from "../helpers.js";
import { ITEMS_DDL } from "../sim.js";

const G: WireGroup = { peerId: 2, first: 1, last: 6 };
const STAMP = 5_000;

function setup(opts: { maxIncompletePatches?: number; maxGroupInMemory?: number } = {}) {
  const d = testDriver();
  d.exec(ITEMS_DDL);
  const r: TakeGroupRooms = {
    catalog: new Catalog(d),
    origins: new Origins(),
    incomplete: new IncompleteGroups(d),
    bounds: new GroupBounds(d),
    maxIncompletePatches: opts.maxIncompletePatches ?? 1_000,
    maxGroupInMemory: opts.maxGroupInMemory ?? 1_000,
  };
  r.incomplete.begin();
  /** Stored runs of the group, as [first sequence, last sequence]. */
  const runs = () =>
    d.db
      .prepare("SELECT seq, coalesce(through, seq) FROM _replic_incomplete ORDER BY seq")
      .raw()
      .all()
      .map((row) => (row as number[]).map(Number));
  return { d, r, runs };
}

/**
 * Parts `seqs` of group `g` (in that order) as one received message maps them; `extra` names a
 * column unknown here on the sequences listed (those parts have an alien form).
 */
function message(r: TakeGroupRooms, seqs: number[], { g = G, stamp = STAMP, alien = [] as number[] } = {}): { parts: GroupParts; mapped: MappedPatches } {
  const tables = [{ name: "items", columns: ["id", "name", "extra"] }];
  const patches = seqs.map((seq) =>
    alien.includes(seq)
      ? { table: 0, peerId: g.peerId, seq, patchedAt: stamp, columns: [0, 1, 2], values: [seq, `n${seq}`, `x${seq}`] }
      : { table: 0, peerId: g.peerId, seq, patchedAt: stamp, columns: [0, 1], values: [seq, `n${seq}`] },
  );
  const msg = decodeWire(encodeWire({ kind: "patches", tables, patches, groups: [g] }, 2));
  if (msg.kind !== "patches") throw new Error("not a patches message");
  const mapped = mapPatches(r.catalog, msg);
  return { parts: { group: msg.groups![0]!, parts: mapped.patches }, mapped };
}

/** Effects of a commit that received `mapped` (its alien forms known, as inbound.ts sets them). */
function effects(mapped: MappedPatches): Effects {
  const e = noEffects(false, undefined);
  e.alienOf = aliensOf(mapped);
  return e;
}

function take(r: TakeGroupRooms, seqs: number[], o: Parameters<typeof message>[2] = {}) {
  const { parts, mapped } = message(r, seqs, o);
  const e = effects(mapped);
  return { done: takeGroup(r, parts, e), e, parts };
}

describe("takeGroup", () => {
  it("stores parts that arrive out of order as runs of consecutive parts, in sequence order", () => {
    const { r, runs } = setup();
    const { done, e } = take(r, [3, 1, 2, 6]);
    expect(done).toBeUndefined();
    expect(runs()).toEqual([
      [1, 3],
      [6, 6],
    ]);
    expect(e.parked).toBe(4);
    expect(e.counts.incomplete_parked_total).toBe(4);
    expect(r.incomplete.count).toBe(4);
    expect([...r.origins.get(2).incomplete].sort()).toEqual([1, 2, 3, 6]);
    // Parts in rising order but with a hole: a run each side of it.
    const other = setup();
    take(other.r, [1, 2, 4, 5]);
    expect(other.runs()).toEqual([
      [1, 2],
      [4, 5],
    ]);
  });

  it("stores a part with an alien form as a row of its own, whole", () => {
    const { r, runs, d } = setup();
    take(r, [1, 2, 3], { alien: [2] });
    expect(runs()).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const stored = d.db.prepare("SELECT bytes FROM _replic_incomplete WHERE seq = 2").raw().get() as [Uint8Array];
    const back = decodeWire(stored[0]);
    expect(back.kind === "patches" && back.tables[0]!.columns).toEqual(["id", "name", "extra"]);
    expect(back.kind === "patches" && back.groups).toEqual([G]);
  });

  it("a part stored before is a duplicate, not counted twice", () => {
    const { r } = setup();
    take(r, [1, 2]);
    const { e } = take(r, [1, 2]);
    expect(e.parked).toBe(0);
    expect(e.counts.patches_duplicate_total).toBe(2);
    expect(r.incomplete.count).toBe(2);
  });

  it("completes with the parts stored before, read into memory when they are at most maxGroupInMemory", () => {
    const { r, d } = setup({ maxGroupInMemory: 3 });
    take(r, [1, 2, 3]);
    const { done, e } = take(r, [4, 5, 6]);
    expect(done).toBeDefined();
    expect(done!.stored).toBeUndefined();
    expect(done!.patchedAt).toBe(STAMP);
    expect(done!.parts.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(e.counts.groups_completed_total).toBe(1);
    // The stored parts are gone, with their marks; the group's bounds are recorded.
    expect(r.incomplete.count).toBe(0);
    expect(r.origins.get(2).incomplete.size).toBe(0);
    expect(d.db.prepare("SELECT count(*) FROM _replic_incomplete").pluck().get()).toBe(0);
    expect(r.bounds.overlapping(2, 1, 6)).toEqual([G]);
  });

  it("leaves more stored parts than maxGroupInMemory to merge from storage", () => {
    const { r, runs } = setup({ maxGroupInMemory: 2 });
    take(r, [1, 2, 3]);
    const { done } = take(r, [4, 5, 6]);
    expect(done!.stored).toEqual(G);
    expect(done!.parts.map((p) => p.seq)).toEqual([4, 5, 6]);
    // Still stored: inbound.ts reads them a window at a time and removes them.
    expect(runs()).toEqual([[1, 3]]);
    expect(r.bounds.overlapping(2, 1, 6)).toEqual([G]);
  });

  it("a stored part with an alien form, completing from memory, keeps its whole form for the merge", () => {
    const { r } = setup();
    take(r, [1, 2], { alien: [2] });
    const { done, e } = take(r, [3, 4, 5, 6]);
    expect(done!.parts.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const whole = [...(e.alienOf ?? new Map()).entries()].map(([p, a]) => [p.seq, a.columns]);
    expect(whole).toEqual([[2, ["id", "name", "extra"]]]);
  });

  it("counts the sequences of the group its origin holds already toward completion, and only those", () => {
    // Sequences 1 and 2 held (contiguous), and 6 above a gap: with 3, 4 and 5 the group is whole.
    const a = setup();
    for (const s of [1, 2, 6]) a.r.origins.get(2).add(s);
    expect(take(a.r, [3, 4, 5]).done?.parts.map((p) => p.seq)).toEqual([3, 4, 5]);
    // Held sequences outside the group (9, above it) do not count: 4 and 5 still miss 3.
    const b = setup();
    for (const s of [1, 2, 6, 9]) b.r.origins.get(2).add(s);
    expect(take(b.r, [4, 5]).done).toBeUndefined();
    expect(b.runs()).toEqual([[4, 5]]);
    // Held below the group's first sequence: a group 3-6 with 1 and 2 held misses 6.
    const c = setup();
    for (const s of [1, 2]) c.r.origins.get(2).add(s);
    expect(take(c.r, [3, 4, 5], { g: { peerId: 2, first: 3, last: 6 } }).done).toBeUndefined();
    // Nothing held, the group far above the origin's head: its own parts complete it.
    const e = setup();
    expect(take(e.r, [3, 4, 5, 6], { g: { peerId: 2, first: 3, last: 6 } }).done?.parts).toHaveLength(4);
  });

  it("refuses parts that disagree with what is known of their group", () => {
    const mismatch = (fn: () => unknown, text: RegExp) => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "GROUP_MISMATCH" });
      expect((err as Error).message).toMatch(text);
    };
    const { r } = setup();
    take(r, [1, 2]);
    // The same group with another stamp, and a group overlapping the waiting one with other bounds.
    mismatch(() => take(r, [3], { stamp: STAMP + 1 }), /arrives with another stamp than its parts received before/);
    mismatch(() => take(r, [3], { g: { peerId: 2, first: 2, last: 7 } }), /overlaps group 2\.1-6 received before/);
    // Bounds that differ at one end only: the same first sequence, or the same last one.
    mismatch(() => take(r, [3], { g: { peerId: 2, first: 1, last: 7 } }), /overlaps group 2\.1-6 received before/);
    mismatch(() => take(r, [3], { g: { peerId: 2, first: 3, last: 6 } }), /overlaps group 2\.1-6 received before/);
    // A part of a group whose bounds differ from a group merged before.
    const m = setup();
    m.r.bounds.record({ peerId: 2, first: 1, last: 4 });
    mismatch(() => take(m.r, [3, 4]), /overlaps group 2\.1-4 merged before/);
    const m2 = setup();
    m2.r.bounds.record({ peerId: 2, first: 3, last: 6 });
    mismatch(() => take(m2.r, [3, 4]), /overlaps group 2\.3-6 merged before/);
    // Parts of one message with two stamps.
    const s = setup();
    const { parts, mapped } = message(s.r, [1, 2]);
    parts.parts[1]!.patchedAt = STAMP + 1;
    mismatch(() => takeGroup(s.r, parts, effects(mapped)), /parts of group 2\.1-6 carry different stamps/);
  });

  it("a group whole in one message merges at once and records its bounds, without a probe of merged groups", () => {
    const { r } = setup();
    // A merged group overlapping this one is refused only for a part; a whole group has no merged sequence.
    r.bounds.record({ peerId: 2, first: 1, last: 2 });
    const { done } = take(r, [1, 2, 3, 4, 5, 6]);
    expect(done!.parts).toHaveLength(6);
    expect(r.bounds.overlapping(2, 1, 6)).toEqual([{ peerId: 2, first: 1, last: 2 }, G]);
  });

  it("stores parts only while there is room, and counts the rest as refused", () => {
    const { r, runs } = setup({ maxIncompletePatches: 3 });
    const { e } = take(r, [1, 2, 4, 5, 6]);
    // 1-2 fit, then one of 4-6; the other two are refused.
    expect(runs()).toEqual([
      [1, 2],
      [4, 4],
    ]);
    expect(e.counts.incomplete_refused_total).toBe(2);
    expect(r.incomplete.count).toBe(3);
    expect(take(r, [3]).e.counts.incomplete_refused_total).toBe(1);
  });
});
