/**
 * What `watch()` can watch besides SQL text: a compiled query of a query builder, or the builder
 * itself. Matched by shape, so Kysely and Drizzle stay the application's dependencies, not ours:
 *  - Kysely's `CompiledQuery` (`builder.compile()`): `{ sql, parameters }`;
 *  - Drizzle's `builder.toSQL()`: `{ sql, params }`;
 *  - a builder with `compile()` (Kysely) or `toSQL()` (Drizzle): compiled once, when watching starts.
 */
import { ReplicError } from "./errors.js";

/** Kysely's `CompiledQuery`, or anything of its shape. */
export interface CompiledQueryLike {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** What Drizzle's `toSQL()` returns. */
export interface DrizzleQueryLike {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** A Kysely query builder: compiles to `{ sql, parameters }`, and its `execute()` says its rows. */
export interface KyselyBuilderLike {
  compile(): CompiledQueryLike;
}

/** A Drizzle query builder. */
export interface DrizzleBuilderLike {
  toSQL(): DrizzleQueryLike;
}

/** Anything watch() takes as its query, besides SQL text. */
export type CompiledWatchQuery = CompiledQueryLike | DrizzleQueryLike | KyselyBuilderLike | DrizzleBuilderLike;

/** The rows of a Kysely builder, from its `execute()`. */
export type RowOf<Q> = Q extends { execute(): Promise<readonly (infer O)[]> } ? O : Record<string, unknown>;

const isArray = (v: unknown): v is readonly unknown[] => Array.isArray(v);

/** SQL text and parameters of a compiled query, or undefined when `v` is not one. */
function compiled(v: unknown): { sql: string; params: readonly unknown[] } | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const q = v as Partial<Record<"sql" | "parameters" | "params", unknown>>;
  if (typeof q.sql !== "string") return undefined;
  if (isArray(q.parameters)) return { sql: q.sql, params: q.parameters };
  if (isArray(q.params)) return { sql: q.sql, params: q.params };
  return undefined;
}

/** SQL text and parameters of a compiled query or builder; a typed error for anything else. */
export function compiledQuery(query: unknown): { sql: string; params: readonly unknown[] } {
  let found = compiled(query);
  if (!found && typeof query === "object" && query !== null) {
    // A builder: compile it once (its own errors, such as a query it cannot render, pass through).
    const q = query as Partial<Record<"compile" | "toSQL", unknown>>;
    if (typeof q.compile === "function") found = compiled((q.compile as () => unknown).call(query));
    else if (typeof q.toSQL === "function") found = compiled((q.toSQL as () => unknown).call(query));
  }
  if (found) return found;
  throw new ReplicError(
    "INVALID_OPTION",
    "watch(): the query must be SQL text, a compiled query ({ sql, parameters } from Kysely's compile(), { sql, params } from Drizzle's toSQL()) or a query builder with compile() or toSQL()",
  );
}
