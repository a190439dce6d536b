// The storage-limit helpers on their own (the workerd tests show the limits on real storage).
import { describe, expect, it } from "vitest";
import { splitPlaceholders } from "../src/driver";
import { boundBytes, DO_STORAGE_LIMITS, limitError, resolveStorageLimits, rowStride, writtenTable } from "../src/storage-limits";

describe("storage limits", () => {
  it("sizes bound values as SQLite stores them", () => {
    expect(boundBytes("abc")).toBe(3);
    expect(boundBytes("é😀")).toBe(2 + 4);
    expect(boundBytes("\uD800")).toBe(3); // a lone surrogate: U+FFFD once made well-formed
    expect(boundBytes("x".repeat(70_000))).toBe(70_000);
    expect(boundBytes(new Uint8Array(9))).toBe(9);
    expect(boundBytes(null)).toBe(0);
    expect(boundBytes(1.5)).toBe(8);
  });

  it("finds the written table and the parameters per row of batched inserts", () => {
    expect(writtenTable(`INSERT INTO "a ""b" (x) VALUES (?)`)).toBe('a "b');
    expect(writtenTable("INSERT OR IGNORE INTO items_patches (x) VALUES (?)")).toBe("items_patches");
    expect(writtenTable("UPDATE t SET x = ?")).toBe("t");
    expect(writtenTable("SELECT 1")).toBeUndefined();
    expect(rowStride(splitPlaceholders("INSERT INTO t (a, b, c) VALUES (?, CAST(? AS INTEGER), ?), (?, ?, ?)"))).toBe(3);
    expect(rowStride(splitPlaceholders("UPDATE t SET a = ?, b = ? WHERE k = ?"))).toBe(3);
    expect(rowStride(splitPlaceholders("INSERT INTO t (a) VALUES ('?', ?) ON CONFLICT DO UPDATE SET a = ?"))).toBe(1);
  });

  it("resolves options: defaults, overrides, and typed refusals", () => {
    expect(resolveStorageLimits(undefined)).toBe(DO_STORAGE_LIMITS);
    expect(resolveStorageLimits({ maxRowBytes: 10 })).toEqual({ ...DO_STORAGE_LIMITS, maxRowBytes: 10 });
    expect(() => resolveStorageLimits({ maxRowBytes: 0 })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => resolveStorageLimits({ maxRowByte: 1 } as never)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
  });

  it("turns the platform's refusals into typed errors and leaves other errors alone", () => {
    expect(limitError(new Error("string or blob too big: SQLITE_TOOBIG"), "t")).toMatchObject({ code: "ROW_TOO_LARGE", table: "t" });
    expect(limitError(new Error("statement too long: SQLITE_TOOBIG"), undefined)).toMatchObject({ code: "STATEMENT_TOO_LONG" });
    expect(limitError(new Error("database or disk is full: SQLITE_FULL"), undefined)).toMatchObject({ code: "DATABASE_FULL" });
    const other = new Error("no such table: x");
    expect(limitError(other, undefined)).toBe(other);
  });
});
