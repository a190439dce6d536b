/**
 * The catalog of replicated tables: every `T` with a `T_patches` sibling, checked against the
 * table contract and reloaded after migrations.
 */
import type { SqliteDriver } from "./driver.js";
import { ValidationError } from "./errors.js";
import { NullStore } from "./null-store.js";
import { ReplicatedTable } from "./replicated-table.js";
import { discoverTables, ensurePatchIndexes } from "./schema.js";
import { Visibility } from "./visibility.js";

export class Catalog {
  tables = new Map<string, ReplicatedTable>();
  private nulls!: NullStore;
  /** Which merged rows of tables with constraints are shown, and the parked ones. */
  visibility!: Visibility;

  /** `horizon`: the collection horizon (bookkeeping.ts), above 0 once patches were collected. */
  constructor(
    private readonly driver: SqliteDriver,
    private readonly horizon: () => number = () => 0,
  ) {
    this.reload();
  }

  /** Reads the schema again (after a migration); throws SchemaError when the contract breaks. */
  reload(): void {
    const schemas = discoverTables(this.driver);
    for (const s of schemas) ensurePatchIndexes(this.driver, s);
    this.nulls = new NullStore(this.driver);
    const next = new Map<string, ReplicatedTable>();
    for (const s of schemas) next.set(s.name, new ReplicatedTable(this.driver, s, this.nulls));
    this.tables = next;
    this.visibility = new Visibility(this.driver, next.values(), this.horizon);
  }

  get(name: string): ReplicatedTable {
    const t = this.tables.get(name);
    if (!t) {
      throw new ValidationError("UNKNOWN_TABLE", `"${String(name)}" is not a replicated table (it needs a "${String(name)}_patches" sibling)`, {
        table: String(name),
      });
    }
    return t;
  }

  /** Names of the replicated tables whose patch table exists now (the catalog may be older). */
  present(): string[] {
    const existing = new Set(this.driver.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).all([]).map((r) => String(r[0])));
    return [...this.tables.keys()].filter((t) => existing.has(`${t}_patches`) && existing.has(t));
  }

  get nullStore(): NullStore {
    return this.nulls;
  }

  /**
   * Where a patch (peerId, seq) is stored and its timestamp, or undefined (sequences are unique
   * across tables). `first` is looked at first: the table the caller expects it in.
   */
  stored(peerId: number, seq: number, first?: ReplicatedTable): { table: ReplicatedTable; stamp: number } | undefined {
    const probe = (table: ReplicatedTable) => {
      const stamp = table.log.stampOf(peerId, seq);
      return stamp === undefined ? undefined : { table, stamp };
    };
    const hit = first && probe(first);
    if (hit) return hit;
    for (const table of this.tables.values()) {
      if (table === first) continue;
      const found = probe(table);
      if (found) return found;
    }
    return undefined;
  }

  /** Highest sequence of `peerId` stored in any patch table, and the highest timestamp of them. */
  lastOf(peerId: number): [number, number] {
    let seq = 0;
    let ts = 0;
    for (const t of this.tables.values()) {
      const [s, t2] = t.log.lastOf(peerId);
      if (s > seq) seq = s;
      if (t2 > ts) ts = t2;
    }
    return [seq, ts];
  }
}
