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

export class RowValidator {
  /** Column indexes of the row being checked (reused: only the shared column set escapes). */
  private readonly key: number[] = [];

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
    const columns = schema.columns;
    const names = table.columnNames;
    const key = this.key;
    let n = 0;
    for (let ci = 0; ci < names.length; ci++) {
      const name = names[ci]!;
      const v = row[name];
      if (v === undefined) continue;
      if ((!plain || typeof v === "function") && !hasOwn.call(row, name)) continue; // inherited, e.g. "constructor"
      key[n++] = ci;
      values.push(checkValue(schema, columns[ci]!, v));
    }
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
        const column = columns[pk]!.name;
        throw new ValidationError("MISSING_PRIMARY_KEY", `a row for "${schema.name}" needs primary-key column "${column}"`, {
          table: schema.name,
          column,
        });
      }
    }
    return cols;
  }
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
