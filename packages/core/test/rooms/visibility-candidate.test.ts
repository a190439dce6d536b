// Candidate rows (src/row-candidate.ts): the merge of one key's stored patches with the patch each
// value came from, the order in which candidates claim unique values, and value equality as the
// visibility rule compares values (a number and a bigint alike, storage classes apart).
import { describe, expect, it } from "vitest";
import { patchesDdl } from "../../src/index.js";
import { BEFORE_ALL, candidateOf, claimOf, earlier, sameValue, type Candidate } from "../../src/row-candidate.js";
import { testDriver } from "../helpers.js";

const LIBRARY_DDL = `
CREATE TABLE authors (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT NOT NULL, authorId TEXT REFERENCES authors(id),
  pages INTEGER CHECK (pages > 0), kind TEXT NOT NULL DEFAULT 'book', deletedAt INTEGER);`;

async function library() {
  const { Catalog } = await import("../../src/catalog.js");
  const d = testDriver();
  d.exec(LIBRARY_DDL);
  d.exec(patchesDdl(d, "authors"));
  d.exec(patchesDdl(d, "books"));
  const v = new Catalog(d).visibility;
  const books = v.rulesOf("books")!;
  const patch = (at: number, seq: number, cols: Record<string, string | number | null>, nulls: string | null = null) => {
    const names = Object.keys(cols);
    d.db
      .prepare(`INSERT INTO books_patches (${names.join(", ")}, _patchedAt, _sequenceId, _peerId, _nulls) VALUES (${names.map(() => "?").join(", ")}, ?, ?, 7, ?)`)
      .run(...Object.values(cols), at, seq, nulls);
  };
  return { d, books, patch };
}

describe("candidateOf", () => {
  it("merges a key's patches in patch order, with the patch each column's value came from", async () => {
    const { d, books, patch } = await library();
    expect(candidateOf(d, books, ["b1"], undefined, 0)).toBeUndefined();
    patch(20, 2, { id: "b1", pages: 9 });
    patch(10, 1, { id: "b1", title: "Dune", pages: 3 });
    patch(30, 3, { id: "b1" }, "pages");
    const c = candidateOf(d, books, ["b1"], undefined, 0)!;
    // id, title, authorId, pages, kind (DEFAULT 'book': no patch set it, the row is not shown), deletedAt
    expect(c.values).toEqual(["b1", "Dune", null, null, "book", null]);
    expect(c.set).toEqual([true, true, false, true, false, false]);
    expect(c.stamps).toEqual([[30, 7, 3], [10, 7, 1], [10, 7, 1], [30, 7, 3], [10, 7, 1], [10, 7, 1]]);
  });

  it("a column no patch set keeps the value shown; once patches were collected, the shown row is the base", async () => {
    const { d, books, patch } = await library();
    patch(10, 1, { id: "b1", pages: 4 });
    const shown = ["b1", "Old", "a1", 2, "paper", null];
    const c = candidateOf(d, books, ["b1"], shown, 0)!;
    expect(c.values).toEqual(["b1", "Old", "a1", 4, "paper", null]);
    expect(c.set).toEqual([true, false, false, true, false, false]);
    const base = candidateOf(d, books, ["b1"], shown, 5)!;
    expect(base.values).toEqual(["b1", "Old", "a1", 4, "paper", null]);
    expect(base.set).toEqual([true, true, true, true, true, true]);
    expect(base.stamps).toEqual([[10, 7, 1], BEFORE_ALL, BEFORE_ALL, [10, 7, 1], BEFORE_ALL, BEFORE_ALL]);
    // Collected, but nothing shown: no base.
    expect(candidateOf(d, books, ["b1"], undefined, 5)!.set).toEqual([true, false, false, true, false, false]);
  });
});

describe("claims and values", () => {
  const cand = (stamps: Array<[number, number, number]>): Candidate => ({ values: stamps.map(() => null), stamps, set: stamps.map(() => true) });

  it("a claim is the newest of the patches that set the index's columns", () => {
    const c = cand([
      [5, 1, 1],
      [9, 1, 1],
      [9, 2, 1],
      [9, 2, 3],
    ]);
    expect(claimOf(c, [0])).toEqual([5, 1, 1]);
    expect(claimOf(c, [1, 0])).toEqual([9, 1, 1]);
    expect(claimOf(c, [0, 2, 1])).toEqual([9, 2, 1]);
    expect(claimOf(c, [3, 2])).toEqual([9, 2, 3]);
  });

  it("earlier: patch order (time, peer, sequence), then key text; never both ways", () => {
    expect(earlier([1, 9, 9], "b", [2, 0, 0], "a")).toBe(true);
    expect(earlier([2, 0, 0], "a", [1, 9, 9], "b")).toBe(false);
    expect(earlier([1, 1, 9], "b", [1, 2, 0], "a")).toBe(true);
    expect(earlier([1, 2, 0], "a", [1, 1, 9], "b")).toBe(false);
    expect(earlier([1, 1, 1], "b", [1, 1, 2], "a")).toBe(true);
    expect(earlier([1, 1, 2], "a", [1, 1, 1], "b")).toBe(false);
    expect(earlier([1, 1, 1], "a", [1, 1, 1], "b")).toBe(true);
    expect(earlier([1, 1, 1], "b", [1, 1, 1], "a")).toBe(false);
    expect(earlier([1, 1, 1], "a", [1, 1, 1], "a")).toBe(false);
  });

  it("sameValue: an integer as number or bigint alike; blobs by bytes; storage classes apart", () => {
    expect(sameValue(5, 5n)).toBe(true);
    expect(sameValue(5n, 5)).toBe(true);
    expect(sameValue(5, 6n)).toBe(false);
    expect(sameValue(1.5, 1.5)).toBe(true);
    expect(sameValue(5, "5")).toBe(false);
    expect(sameValue("5", 5n)).toBe(false);
    expect(sameValue(null, null)).toBe(true);
    expect(sameValue(null, 0)).toBe(false);
    expect(sameValue("x", "x")).toBe(true);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(sameValue(new Uint8Array([]), new Uint8Array([]))).toBe(true);
    expect(sameValue(new Uint8Array([49]), "1")).toBe(false);
    expect(sameValue("1", new Uint8Array([49]))).toBe(false);
  });
});
