// A decoded message mapped onto the local schema (src/wire-mapping.ts): names looked up, column
// indexes translated and sorted with their values, every value checked, a missing primary key
// refused, and names unknown here sent down the alien path.
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog.js";
import type { SqlValue } from "../../src/driver.js";
import { mapPatches } from "../../src/wire-mapping.js";
import type { PatchesMessage, WirePatch, WireTable } from "../../src/wire/types.js";
import { testDriver } from "../helpers.js";
import { ITEMS_DDL } from "../sim.js";

const TAGS_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT, weight REAL);
CREATE TABLE tags_patches (tag TEXT, color TEXT, weight REAL, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`;

function catalog(): Catalog {
  const d = testDriver();
  d.exec(ITEMS_DDL);
  d.exec(TAGS_DDL);
  return new Catalog(d);
}

const patch = (table: number, seq: number, columns: number[], values: SqlValue[]): WirePatch => ({ table, peerId: 9, seq, patchedAt: 1000 + seq, columns, values });
const shape = (m: ReturnType<typeof mapPatches>) =>
  m.patches.map((p) => ({ table: p.table.name, peerId: p.peerId, seq: p.seq, patchedAt: p.patchedAt, cols: p.cols, values: p.values }));

describe("mapPatches: every name known", () => {
  it("translates the sender's column indexes to local ones, sorted with their values", () => {
    const c = catalog();
    // items here: id 0, name 1, qty 2, price 3, deletedAt 4.
    const tables: WireTable[] = [{ name: "items", columns: ["qty", "name", "id"] }];
    const m = mapPatches(c, { kind: "patches", tables, patches: [patch(0, 1, [0, 1, 2], [5, "a", 1]), patch(0, 2, [2, 1], [2, "b"])] });
    expect(m.aliens).toBeUndefined();
    expect(shape(m)).toEqual([
      { table: "items", peerId: 9, seq: 1, patchedAt: 1001, cols: [0, 1, 2], values: [1, "a", 5] },
      { table: "items", peerId: 9, seq: 2, patchedAt: 1002, cols: [0, 1], values: [2, "b"] },
    ]);
    expect(m.patches[0]!.table).toBe(c.tables.get("items"));
  });

  it("keeps the sender's values in place when its order is ours, converting what the column's type asks", () => {
    const c = catalog();
    const values: SqlValue[] = [1, "a", true as unknown as SqlValue];
    const m = mapPatches(c, { kind: "patches", tables: [{ name: "items", columns: ["id", "name", "qty"] }], patches: [patch(0, 1, [0, 1, 2], values)] });
    expect(shape(m)).toEqual([{ table: "items", peerId: 9, seq: 1, patchedAt: 1001, cols: [0, 1, 2], values: [1, "a", 1] }]);
  });

  it("maps each patch by its own table and column list, also when a column list is shared", () => {
    const c = catalog();
    const cols = [0, 1];
    const msg: PatchesMessage = {
      kind: "patches",
      tables: [
        { name: "items", columns: ["id", "name"] },
        { name: "tags", columns: ["tag", "color"] },
        { name: "items", columns: ["name", "id"] },
      ],
      patches: [patch(0, 1, cols, [1, "a"]), patch(1, 2, cols, ["t", "red"]), patch(1, 3, cols, ["u", "blue"]), patch(2, 4, cols, ["b", 2]), patch(2, 5, [0, 1], ["c", 3])],
    };
    expect(shape(mapPatches(c, msg))).toEqual([
      { table: "items", peerId: 9, seq: 1, patchedAt: 1001, cols: [0, 1], values: [1, "a"] },
      { table: "tags", peerId: 9, seq: 2, patchedAt: 1002, cols: [0, 1], values: ["t", "red"] },
      { table: "tags", peerId: 9, seq: 3, patchedAt: 1003, cols: [0, 1], values: ["u", "blue"] },
      { table: "items", peerId: 9, seq: 4, patchedAt: 1004, cols: [0, 1], values: [2, "b"] },
      { table: "items", peerId: 9, seq: 5, patchedAt: 1005, cols: [0, 1], values: [3, "c"] },
    ]);
  });

  it("refuses a value SQLite would not store as every replica does, naming table and column", () => {
    const c = catalog();
    // A non-integer number in a TEXT column: its text differs between SQLite versions.
    const msg: PatchesMessage = { kind: "patches", tables: [{ name: "items", columns: ["name", "id"] }], patches: [patch(0, 1, [0, 1], ["a", 1]), patch(0, 2, [0, 1], [2.5, 2])] };
    expect(() => mapPatches(c, msg)).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", table: "items", column: "name" }));
    const inPlace: PatchesMessage = { kind: "patches", tables: [{ name: "items", columns: ["id", "qty"] }], patches: [patch(0, 1, [0, 1], [1, Number.NaN])] };
    expect(() => mapPatches(c, inPlace)).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", column: "qty" }));
    // Text in an INTEGER column of a plain table is what SQLite stores (a number when it reads as one).
    const text: PatchesMessage = { kind: "patches", tables: [{ name: "items", columns: ["id", "qty"] }], patches: [patch(0, 1, [0, 1], [1, "many"]), patch(0, 2, [0, 1], [2, " 12 "])] };
    expect(mapPatches(c, text).patches.map((p) => p.values)).toEqual([[1, "many"], [2, 12]]);
  });

  it("refuses a patch without its primary key", () => {
    const c = catalog();
    const msg: PatchesMessage = { kind: "patches", tables: [{ name: "items", columns: ["id", "name"] }], patches: [patch(0, 1, [0, 1], [1, "a"]), patch(0, 2, [1], ["b"])] };
    let err: unknown;
    try {
      mapPatches(c, msg);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "MISSING_PRIMARY_KEY", message: 'patch 9.2 lacks primary-key column "id"', table: "items", column: "id" });
  });

  it("maps a message without patches to none", () => {
    expect(mapPatches(catalog(), { kind: "patches", tables: [{ name: "items", columns: ["id"] }], patches: [] })).toEqual({ patches: [], aliens: undefined });
  });
});

describe("mapPatches: a name unknown here", () => {
  it("keeps alien patches whole and maps the known ones (and known parts) with their columns sorted", () => {
    const c = catalog();
    const msg: PatchesMessage = {
      kind: "patches",
      tables: [
        { name: "items", columns: ["name", "id", "color"] },
        { name: "gone", columns: ["k"] },
      ],
      patches: [patch(0, 1, [0, 1], ["a", 1]), patch(0, 2, [2, 0, 1], ["red", "b", 2]), patch(1, 3, [0], ["x"])],
    };
    const m = mapPatches(c, msg);
    expect(shape(m)).toEqual([
      { table: "items", peerId: 9, seq: 1, patchedAt: 1001, cols: [0, 1], values: [1, "a"] },
      { table: "items", peerId: 9, seq: 2, patchedAt: 1002, cols: [0, 1], values: [2, "b"] },
    ]);
    expect(m.aliens!.map((a) => ({ ...a, local: a.local && a.local.seq }))).toEqual([
      { peerId: 9, seq: 2, patchedAt: 1002, table: "items", columns: ["color", "name", "id"], values: ["red", "b", 2], local: 2 },
      { peerId: 9, seq: 3, patchedAt: 1003, table: "gone", columns: ["k"], values: ["x"], local: undefined },
    ]);
  });

  it("checks the known values of a message that also names unknown things", () => {
    const c = catalog();
    const msg: PatchesMessage = {
      kind: "patches",
      tables: [
        { name: "items", columns: ["qty", "id"] },
        { name: "gone", columns: ["k"] },
      ],
      patches: [patch(1, 1, [0], ["x"]), patch(0, 2, [0, 1], [Number.NaN, 2])],
    };
    expect(() => mapPatches(c, msg)).toThrow(expect.objectContaining({ code: "TYPE_MISMATCH", column: "qty" }));
    const missingKey: PatchesMessage = { ...msg, patches: [patch(1, 1, [0], ["x"]), patch(0, 2, [0], [5])] };
    expect(() => mapPatches(c, missingKey)).toThrow(expect.objectContaining({ code: "MISSING_PRIMARY_KEY" }));
  });
});
