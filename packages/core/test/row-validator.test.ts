// The compiled column reader (straight-line code per table) must accept, convert and refuse
// exactly what the generic loop does: same values, same column indexes, same error codes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NullStore } from "../src/null-store.js";
import { ReplicatedTable } from "../src/replicated-table.js";
import { compileReader, genericReader, RowValidator } from "../src/row-validator.js";
import { checkTable, readColumns } from "../src/schema.js";
import { testDriver } from "./helpers.js";

function table(): ReplicatedTable {
  const driver = testDriver();
  driver.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER NOT NULL DEFAULT 0, price REAL, n NUMERIC, b BLOB, x,
    "we""ird\u2028" TEXT, "constructor" INTEGER)`);
  driver.exec(`CREATE TABLE t_patches (id INTEGER, name TEXT, qty INTEGER, price REAL, n NUMERIC, b BLOB, x,
    "we""ird\u2028" TEXT, "constructor" INTEGER,
    _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
    PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID`);
  return new ReplicatedTable(driver, checkTable("t", readColumns(driver, "t"), readColumns(driver, "t_patches")), new NullStore(driver));
}

type Outcome = { n: number; key: number[]; values: unknown[] } | { code: string };

function outcome(read: ReturnType<typeof compileReader>, row: Record<string, unknown>, plain: boolean): Outcome {
  const values: unknown[] = [];
  const key: number[] = [];
  try {
    const n = read(row, values as never[], key, plain);
    return { n, key: key.slice(0, n), values };
  } catch (err) {
    return { code: (err as { code: string }).code };
  }
}

const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, -0, 2 ** 53, -(2 ** 53), Infinity),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.boolean(),
  fc.string(),
  fc.constantFrom("a\u0000b", "\u0000"),
  fc.uint8Array({ maxLength: 4 }),
  fc.constantFrom(() => 1, {}, [], Symbol.for("s")),
);

describe("row validator: compiled reader", () => {
  const t = table();
  const compiled = compileReader(t);
  const generic = genericReader(t);

  it("is generated code, not the generic loop", () => {
    expect(compiled.name).toBe("readColumns");
  });

  it("agrees with the generic loop on every value of every column (plain and class rows)", () => {
    fc.assert(
      fc.property(fc.array(anyValue, { minLength: t.columnNames.length, maxLength: t.columnNames.length }), fc.boolean(), (vals, plain) => {
        const row: Record<string, unknown> = plain ? {} : Object.create({ inherited: 1, qty: 7 });
        t.columnNames.forEach((name, i) => {
          if (vals[i] !== undefined || i % 3 === 0) Object.defineProperty(row, name, { value: vals[i], enumerable: true, writable: true, configurable: true });
        });
        expect(outcome(compiled, row, plain)).toEqual(outcome(generic, row, plain));
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with the generic loop column by column, the other columns valid", () => {
    fc.assert(
      fc.property(fc.nat(t.columnNames.length - 1), anyValue, fc.boolean(), (ci, v, plain) => {
        const row: Record<string, unknown> = plain ? { id: 1 } : Object.assign(Object.create({ qty: 7 }), { id: 1 });
        row[t.columnNames[ci]!] = v;
        expect(outcome(compiled, row, plain)).toEqual(outcome(generic, row, plain));
      }),
      { numRuns: 3000 },
    );
  });

  it("skips inherited properties of class rows and functions on plain rows", () => {
    const proto = { qty: 5, name: "inherited" };
    const row = Object.create(proto) as Record<string, unknown>;
    row.id = 1;
    expect(outcome(compiled, row, false)).toEqual({ n: 1, key: [0], values: [1] });
    expect(outcome(compiled, { id: 2, constructor: () => 1 } as Record<string, unknown>, true)).toEqual(outcome(generic, { id: 2, constructor: () => 1 }, true));
  });

  it("refuses what checkValue refuses, with its code", () => {
    expect(outcome(compiled, { id: 1.5 }, true)).toEqual({ code: "TYPE_MISMATCH" });
    expect(outcome(compiled, { id: 1, name: "a\u0000" }, true)).toEqual({ code: "TYPE_MISMATCH" });
    expect(outcome(compiled, { id: 1, price: Number.NaN }, true)).toEqual({ code: "TYPE_MISMATCH" });
    expect(outcome(compiled, { id: 1, qty: null }, true)).toEqual({ code: "NOT_NULL" });
    expect(outcome(compiled, { id: 1, qty: true, price: 3 }, true)).toEqual({ n: 3, key: [0, 2, 3], values: [1, 1, 3] });
  });

  it("RowValidator reads the unusual column names through the compiled reader", () => {
    const values: unknown[] = [];
    const cols = new RowValidator().validate(t, { id: 3, 'we"ird\u2028': "w", constructor: 4 }, values as never[]);
    expect(cols.map((c) => t.columnNames[c])).toEqual(["id", 'we"ird\u2028', "constructor"]);
    expect(values).toEqual([3, "w", 4]);
  });
});
