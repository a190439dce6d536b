/**
 * Checks a row an application hands to upsert against its table: a plain object whose own
 * properties are columns of the table, with values of the declared types and the whole primary
 * key. Walks the schema, not the object, so the common case costs one pass over the columns.
 */
import type { SqlValue } from "./driver.js";
import { ValidationError } from "./errors.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { checkValue } from "./values.js";

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Reads and checks the columns of one table from a row: appends the values, writes their column
 * indexes to `key` and returns how many. `plain`: the row is a plain object (own properties only).
 */
type ColumnReader = (row: Record<string, unknown>, values: SqlValue[], key: number[], plain: boolean) => number;

export class RowValidator {
  /** Column indexes of the row being checked (reused: only the shared column set escapes). */
  private readonly key: number[] = [];
  /** One reader per table, compiled on first use (the table object changes with migrations). */
  private readonly readers = new WeakMap<ReplicatedTable, ColumnReader>();

  /**
   * Appends the checked values, in column order, to `values` and returns the sorted column
   * indexes they belong to (a shared array per column set).
   */
  validate(table: ReplicatedTable, row: Record<string, unknown>, values: SqlValue[]): number[] {
    const schema = table.schema;
    if (row === null || typeof row !== "object" || Array.isArray(row) || row instanceof Uint8Array) {
      throw new ValidationError("INVALID_ROW", `a row for "${schema.name}" must be a plain object`, { table: schema.name });
    }
    const proto = Object.getPrototypeOf(row);
    // Plain objects take the fast path; anything else must hold its columns as own properties.
    const plain = proto === Object.prototype || proto === null;
    let read = this.readers.get(table);
    if (read === undefined) this.readers.set(table, (read = compileReader(table)));
    const key = this.key;
    const n = read(row, values, key, plain);
    let given = 0;
    for (const k in row) if (row[k] !== undefined) given++;
    if (given !== n) {
      for (const k of Object.keys(row)) {
        if (row[k] !== undefined && !schema.columnIndex.has(k)) {
          throw new ValidationError("UNKNOWN_COLUMN", `"${schema.name}" has no column "${k}"`, { table: schema.name, column: k });
        }
      }
      throw new ValidationError("INVALID_ROW", `a row for "${schema.name}" has inherited or duplicate properties`, { table: schema.name });
    }
    const cols = table.columnSet(key, n);
    for (const pk of schema.pkIndexes) {
      if (!cols.includes(pk)) {
        const column = schema.columns[pk]!.name;
        throw new ValidationError("MISSING_PRIMARY_KEY", `a row for "${schema.name}" needs primary-key column "${column}"`, {
          table: schema.name,
          column,
        });
      }
    }
    return cols;
  }
}

/**
 * The column reader of a table. Compiled to straight-line code (one property read by constant
 * name per column, the common type checks inline) where the runtime allows generating code: a
 * generic loop reads the row's properties by variable name, which V8 serves from a slow
 * megamorphic cache. Column names enter the code only as JSON string literals. Where code
 * generation is refused (a Content-Security-Policy without 'unsafe-eval'), the generic loop.
 */
export function compileReader(table: ReplicatedTable): ColumnReader {
  const { schema } = table;
  const columns = schema.columns;
  const lines: string[] = [];
  for (let ci = 0; ci < columns.length; ci++) {
    const col = columns[ci]!;
    const name = JSON.stringify(col.name);
    const slow = `checkValue(schema, columns[${ci}], v)`;
    let check: string;
    if (col.affinity === "INTEGER") check = `typeof v === "number" && Number.isSafeInteger(v) ? v : ${slow}`;
    else if (col.affinity === "REAL") check = `typeof v === "number" && v === v ? v : ${slow}`;
    else if (col.affinity === "TEXT") check = `typeof v === "string" && v.indexOf("\\0") === -1 ? v : ${slow}`;
    else check = slow;
    lines.push(
      `v = row[${name}];`,
      `if (v !== undefined && ((plain && typeof v !== "function") || hasOwn.call(row, ${name}))) { key[n++] = ${ci}; values.push(${check}); }`,
    );
  }
  const body = `"use strict";\nreturn function readColumns(row, values, key, plain) {\nlet n = 0, v;\n${lines.join("\n")}\nreturn n;\n};`;
  try {
    return new Function("hasOwn", "checkValue", "schema", "columns", body)(hasOwn, checkValue, schema, columns) as ColumnReader;
  } catch {
    return genericReader(table);
  }
}

/** The same reader as a loop over the columns (no generated code). */
export function genericReader(table: ReplicatedTable): ColumnReader {
  const { schema } = table;
  const columns = schema.columns;
  const names = table.columnNames;
  return (row, values, key, plain) => {
    let n = 0;
    for (let ci = 0; ci < names.length; ci++) {
      const name = names[ci]!;
      const v = row[name];
      if (v === undefined) continue;
      if ((!plain || typeof v === "function") && !hasOwn.call(row, name)) continue; // inherited, e.g. "constructor"
      key[n++] = ci;
      values.push(checkValue(schema, columns[ci]!, v));
    }
    return n;
  };
}

/** An upper bound of the bytes a patch with these values takes on the wire. */
export function encodedSizeBound(values: readonly SqlValue[]): number {
  let size = 16;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "string") size += 9 + v.length * 3;
    else if (v instanceof Uint8Array) size += 9 + v.length;
    else size += 10;
  }
  return size;
}
