/**
 * One replicated table: its checked schema, its patch log (`T_patches`) and its row merger
 * (`T`), plus the shared column-set arrays patches point at.
 */
import type { SqliteDriver, SqlValue } from "./driver.js";
import type { NullStore } from "./null-store.js";
import { PatchLog } from "./patch-log.js";
import { RowMerger } from "./row-merge.js";
import type { TableSchema } from "./schema.js";
import type { PatchOf } from "./local-patch.js";

/** A patch in engine form (local-patch.ts), of a replicated table. */
export type LocalPatch = PatchOf<ReplicatedTable>;

export class ReplicatedTable {
  readonly columnNames: string[];
  readonly log: PatchLog;
  readonly rows: RowMerger;
  private readonly columnSets = new Map<number | string, number[]>();

  constructor(
    driver: SqliteDriver,
    readonly schema: TableSchema,
    nulls: NullStore,
  ) {
    this.columnNames = schema.columns.map((c) => c.name);
    this.log = new PatchLog(driver, schema, nulls);
    this.rows = new RowMerger(driver, schema, this.log, (cols, n) => this.shapeKey(cols, n));
  }

  get name(): string {
    return this.schema.name;
  }

  /** Writes everything queued in the log and the merger. */
  flush(): void {
    this.log.flush();
    this.rows.flush();
  }

  /** Drops everything queued (the transaction is being rolled back). */
  discard(): void {
    this.log.discard();
    this.rows.discard();
  }

  /** The primary-key values of a patch, in key order. */
  keyOf(cols: readonly number[], values: readonly SqlValue[]): SqlValue[] {
    return this.schema.pkIndexes.map((i) => values[cols.indexOf(i)]!);
  }

  /** Cache key of a column set (its first `n` indexes): a bit mask when the table is narrow. */
  shapeKey(cols: readonly number[], n: number): number | string {
    if (this.columnNames.length > 30) return cols.slice(0, n).join(",");
    let key = 0;
    for (let i = 0; i < n; i++) key |= 1 << cols[i]!;
    return key;
  }

  /** One shared array per distinct column set, so patches need not each own one. */
  columnSet(cols: readonly number[], n = cols.length): number[] {
    const key = this.shapeKey(cols, n);
    let set = this.columnSets.get(key);
    if (!set) this.columnSets.set(key, (set = cols.slice(0, n)));
    return set;
  }
}
