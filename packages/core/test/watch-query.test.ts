/**
 * What watch() takes as its query besides SQL text, matched by shape (no Kysely or Drizzle in the
 * core): Kysely's compiled { sql, parameters }, Drizzle's { sql, params }, and builders with
 * compile() / toSQL(), compiled once. Anything else is INVALID_OPTION.
 */
import { describe, expect, it } from "vitest";
import { isReplicError } from "../src/index.js";
import { compiledQuery } from "../src/watch-query.js";

const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return isReplicError(e) ? e.code : e;
  }
  return undefined;
};

describe("compiledQuery", () => {
  it("reads Kysely's and Drizzle's compiled shapes", () => {
    expect(compiledQuery({ sql: "SELECT ?", parameters: [1], query: {} })).toEqual({ sql: "SELECT ?", params: [1] });
    expect(compiledQuery({ sql: "SELECT ?", params: ["a"], typings: [] })).toEqual({ sql: "SELECT ?", params: ["a"] });
  });

  it("compiles a builder once, through compile() before toSQL(), called on the builder", () => {
    let calls = 0;
    const kysely = {
      where: 1,
      compile() {
        calls++;
        return { sql: `SELECT ${this.where}`, parameters: [] };
      },
      toSQL: () => ({ sql: "not this one", params: [] }),
    };
    expect(compiledQuery(kysely)).toEqual({ sql: "SELECT 1", params: [] });
    expect(calls).toBe(1);
    const drizzle = {
      table: "todos",
      toSQL() {
        return { sql: `SELECT * FROM ${this.table} WHERE id = ?`, params: [7] };
      },
    };
    expect(compiledQuery(drizzle)).toEqual({ sql: "SELECT * FROM todos WHERE id = ?", params: [7] });
  });

  it("lets a builder's own error through", () => {
    const boom = new Error("cannot render");
    expect(codeOf(() => compiledQuery({ toSQL: () => { throw boom; } }))).toBe(boom);
  });

  it("refuses anything else with INVALID_OPTION", () => {
    for (const bad of [
      null,
      42,
      {},
      { sql: "SELECT 1" },
      { sql: 1, parameters: [] },
      { sql: "SELECT ?", parameters: "1" },
      { sql: "SELECT ?", params: { 0: 1 } },
      { compile: () => ({ sql: "SELECT 1" }) },
      { toSQL: () => "SELECT 1" },
      { compile: () => ({ compile: () => ({ sql: "SELECT 1", parameters: [] }) }) }, // compiled once, not recursively
    ]) {
      expect(codeOf(() => compiledQuery(bad))).toBe("INVALID_OPTION");
    }
  });
});
