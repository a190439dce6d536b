/**
 * Typed rows: `openReplica<DB>(db)` types `upsert`, `upsertMany` and merge events from a database
 * interface, so a misspelled table or column, or a value of the wrong type, fails to compile.
 * Types only: nothing here exists at run time, and nothing is imported from Kysely or Drizzle —
 * their shapes are matched structurally, so the core keeps zero dependencies.
 *
 * `DB` is either
 *  - a Kysely-style interface, table name → row type (`{ todos: { id: string; done: number | null } }`);
 *    a column may use Kysely's `ColumnType<S, I, U>` / `Generated<T>`: replic writes what
 *    Kysely would insert or update (`I | U`, without `undefined`); `GeneratedAlways` columns
 *    cannot be written. Which columns form the primary key is not in such a type: name them in
 *    `Keys` (`openReplica<DB, { todos: "id" }>`) to make them required, or leave them optional
 *    (the replica still refuses a row without its key, MISSING_PRIMARY_KEY, at run time);
 *  - a Drizzle schema, `typeof schema` (the module of `sqliteTable(...)` exports): tables are
 *    keyed by their SQL names, columns by their SQL names (the JS key when the column has no
 *    name of its own), `.primaryKey()` columns are required, a nullable column takes null, and
 *    values are what SQLite stores (a `mode: "timestamp"` column takes a number, a `mode: "json"`
 *    text column a string). Members that are not tables (relations) are ignored.
 *
 * Without a type argument `DB` is `AnyTables` and every signature is the untyped one.
 */
import type { SqlValue } from "./driver.js";

/** The untyped default: any table, any column, any value (checked at run time). */
export type AnyTables = Record<string, Record<string, unknown>>;

/** A Drizzle column as its types describe it (`column._`). */
interface DrizzleColumnLike {
  readonly _: {
    readonly name: string;
    readonly data: unknown;
    readonly notNull: boolean;
    readonly isPrimaryKey: boolean;
    readonly columnType: string;
  };
}

/** A Drizzle table as its types describe it: what `sqliteTable(...)` returns. */
interface DrizzleTableLike {
  readonly _: { readonly name: string; readonly columns: Record<string, DrizzleColumnLike> };
  readonly $inferInsert: unknown;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Whether DB is the untyped default (or any type with a string index). */
type IsUntyped<DB> = string extends keyof DB ? true : false;

/** Whether DB holds Drizzle tables (then only they count: relations sit beside them). */
type IsDrizzle<DB> = true extends { [K in keyof DB]: DB[K] extends DrizzleTableLike ? true : false }[keyof DB] ? true : false;

/** A Drizzle table's or column's SQL name: its own, or the JS key when it has none (`text()`). */
type SqlName<Key extends string, Name> = Name extends string ? (string extends Name ? Key : Name extends "" ? Key : Name) : Key;

/** SQL table name → the table's type, for either kind of DB. */
type TableMap<DB> =
  IsDrizzle<DB> extends true
    ? { [K in keyof DB & string as DB[K] extends DrizzleTableLike ? SqlName<K, DB[K]["_"]["name"]> : never]: DB[K] }
    : { [K in keyof DB & string]: DB[K] };

/** Names of the tables of DB (`string` when untyped). */
export type TableName<DB> = IsUntyped<DB> extends true ? string : keyof TableMap<DB> & string;

/** The type of table T of DB. */
type TableOf<DB, T extends string> = T extends keyof TableMap<DB> ? TableMap<DB>[T] : never;

/** Drizzle columns by SQL name. */
type DrizzleColumns<Table> = Table extends DrizzleTableLike
  ? { [K in keyof Table["_"]["columns"] & string as SqlName<K, Table["_"]["columns"][K]["_"]["name"]>]: Table["_"]["columns"][K] }
  : never;

/** What SQLite stores for a Drizzle column whose JS value it does not take as is. */
type StoredValue<Data, ColumnKind> = ColumnKind extends "SQLiteTimestamp"
  ? number
  : ColumnKind extends "SQLiteTextJson"
    ? string
    : ColumnKind extends "SQLiteBlobJson" | "SQLiteBlobBuffer"
      ? Uint8Array
      : [Data] extends [SqlValue | boolean]
        ? Data
        : SqlValue | boolean;

type DrizzleValue<C> = C extends DrizzleColumnLike ? StoredValue<C["_"]["data"], C["_"]["columnType"]> | (C["_"]["notNull"] extends true ? never : null) : never;

/** The value replic writes for a Kysely column: what Kysely would insert or update. */
type KyselyValue<C> = C extends { readonly __insert__: infer I; readonly __update__: infer U } ? Exclude<I | U, undefined> : C;

/** Columns of table T by SQL name, each with the value an upsert takes. */
type ColumnValues<DB, T extends string> =
  IsDrizzle<DB> extends true
    ? { [C in keyof DrizzleColumns<TableOf<DB, T>> & string]: DrizzleValue<DrizzleColumns<TableOf<DB, T>>[C]> }
    : { [C in keyof TableOf<DB, T> & string]: KyselyValue<TableOf<DB, T>[C]> };

/** Names of the columns of table T. */
export type ColumnName<DB, T extends string> = keyof ColumnValues<DB, T> & string;

/** The primary-key columns of each table, where the schema type cannot say them (Kysely): `{ todos: "id" }`. */
export type KeyColumns<DB> = { [T in TableName<DB>]?: ColumnName<DB, T> };

/** Key columns the schema itself declares (Drizzle's `.primaryKey()`). */
type DeclaredKeys<DB, T extends string> =
  IsDrizzle<DB> extends true
    ? { [C in keyof DrizzleColumns<TableOf<DB, T>> & string]: DrizzleColumns<TableOf<DB, T>>[C] extends { readonly _: { readonly isPrimaryKey: true } } ? C : never }[keyof DrizzleColumns<TableOf<DB, T>> & string]
    : never;

type RequiredColumns<DB, T extends string, Keys> = DeclaredKeys<DB, T> | (T extends keyof Keys ? Extract<Keys[T], string> : never);

/**
 * The row `upsert(table, row)` takes for table T: a patch, so every column is optional except
 * the primary key (when known: Drizzle's `.primaryKey()`, or `Keys`). `null` is allowed where
 * the column is nullable and sets NULL; a column left out is untouched.
 */
export type UpsertRow<DB, T extends string, Keys = {}> =
  IsUntyped<DB> extends true
    ? Record<string, unknown>
    : Simplify<
        { [C in keyof ColumnValues<DB, T> & string as C extends RequiredColumns<DB, T, Keys> ? C : never]-?: ColumnValues<DB, T>[C] } & {
          [C in keyof ColumnValues<DB, T> & string as C extends RequiredColumns<DB, T, Keys> ? never : C]?: ColumnValues<DB, T>[C];
        }
      >;
