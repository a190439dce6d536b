/**
 * Which merged rows are shown in `T` (README, "Rows become visible when they are valid").
 *
 * The merge rule makes one candidate row per key out of its patches. The candidate is shown
 * only when it is valid, decided in three steps, each a function of the set of patches alone:
 *  1. incomplete / check: the candidate alone (NOT NULL columns, CHECK expressions);
 *  2. unique: among the candidates that pass step 1, one value of a unique index belongs to the
 *     candidate whose claiming write (the newest patch among those that set the index's columns)
 *     is earliest in patch order (_patchedAt, _peerId, _sequenceId); the others are parked;
 *  3. parent-missing: a candidate passing 1 and 2 is shown when every parent it references is
 *     shown, or shown with it (a row may reference itself; rows may reference each other).
 * Tables with none of these constraints (and that no replicated table references) never come
 * here: the merger writes them straight into `T`. The others' rows are handed over by the merger
 * (row-merge.ts) and settled once per batch: each key is evaluated, and whatever its change may
 * affect (rows competing for its unique values, rows referencing it) is evaluated again until
 * nothing changes (settle.ts). Rows whose foreign keys form a cycle are valid only together:
 * those whose every parent is shown or among them are shown together (valid-together.ts).
 * Parking and releasing happen in the caller's transaction.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { ValidationError } from "./errors.js";
import type { ParkedEvent } from "./events.js";
import type { SchemaPatch } from "./local-patch.js";
import { keyFromText, keyText, ParkedRows } from "./parked-rows.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { guarded, readConstraints } from "./row-constraints.js";
import { Settle } from "./settle.js";
import { TableRules } from "./table-rules.js";
import { quoteId } from "./schema.js";

/** A row parked or released by one commit (net: a row parked and released again in it is not one). */
export type ParkChange = ParkedEvent;

export class Visibility {
  private readonly rules = new Map<string, TableRules>();
  /** Keys handed over by the mergers since the last settle, per table. */
  private dirty = new Map<TableRules, Map<string, SqlValue[]>>();
  /** The patches behind them, in merge order, while every one is replayable (null: one was not). */
  private patches = new Map<TableRules, Array<readonly [SchemaPatch, boolean]> | null>();
  private readonly fkOn: SqliteStatement;
  /** Changes of settles in the open transaction, for its effects. */
  private pending: ParkChange[] = [];
  readonly parked: ParkedRows;

  constructor(
    private readonly driver: SqliteDriver,
    tables: Iterable<ReplicatedTable>,
    /** The collection horizon: above 0, some patches may have been collected. */
    private readonly horizon: () => number,
  ) {
    this.parked = new ParkedRows(driver);
    this.fkOn = driver.prepare("SELECT foreign_keys, defer_foreign_keys FROM pragma_foreign_keys, pragma_defer_foreign_keys");
    const all = [...tables];
    const constraints = new Map(all.map((t) => [t.name, readConstraints(driver, t.schema)]));
    const referenced = new Set<string>();
    for (const c of constraints.values()) for (const fk of c.foreignKeys) referenced.add(fk.parent);
    for (const t of all) {
      const c = constraints.get(t.name)!;
      if (!guarded(c) && !referenced.has(t.name)) continue;
      const r = new TableRules(driver, t, c);
      this.rules.set(t.name, r);
      t.rows.guard = (key, p, newest) => this.note(r, key, p, newest);
    }
    for (const r of this.rules.values()) {
      for (const fk of r.c.foreignKeys) {
        const parent = this.rules.get(fk.parent);
        if (!parent) continue;
        const s = r.t.schema;
        const lookup = driver.prepare(
          `SELECT ${s.pkIndexes.map((i) => quoteId(s.columns[i]!.name)).join(", ")} FROM ${quoteId(s.name)} WHERE ${fk.from
            .map((i) => `${quoteId(s.columns[i]!.name)} = ?`)
            .join(" AND ")}`,
        );
        parent.children.push({ rules: r, fk, lookup });
      }
    }
    const depthOf = (r: TableRules, seen: Set<TableRules>): number => {
      if (seen.has(r)) return 0; // a cycle of tables: any order (a failure falls back)
      seen.add(r);
      let d = 0;
      for (const fk of r.c.foreignKeys) {
        const parent = this.rules.get(fk.parent);
        if (parent && parent !== r) d = Math.max(d, 1 + depthOf(parent, seen));
      }
      seen.delete(r);
      return d;
    };
    for (const r of this.rules.values()) r.depth = depthOf(r, new Set());
  }

  /** Names of a table's primary-key columns, when it replicates. */
  keyNames(table: string): string[] | undefined {
    const r = this.rules.get(table);
    if (r) return r.keyNames;
    return undefined;
  }

  /** A row of a guarded table whose patches changed: evaluated at the next settle. */
  note(r: TableRules, key: SqlValue[], p?: SchemaPatch, newest?: boolean): void {
    let m = this.dirty.get(r);
    if (!m) {
      this.dirty.set(r, (m = new Map()));
      this.patches.set(r, []);
    }
    m.set(keyText(key), key);
    const list = this.patches.get(r);
    if (list) {
      if (p) list.push([p, newest === true] as const);
      else this.patches.set(r, null); // a rebuild: only the row-by-row check knows
    }
  }

  /** True when rows wait to be settled. */
  get pendingRows(): boolean {
    return this.dirty.size > 0;
  }

  /** The transaction was rolled back: nothing noted or settled in it counts. */
  discard(): void {
    this.dirty.clear();
    this.patches.clear();
    this.pending = [];
  }

  /** The net changes settled since the last take (the transaction commits). */
  take(): ParkChange[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /**
   * Settles every noted row and whatever it affects, inside the caller's transaction. `local`:
   * this replica's own write, which must leave no row parked that was not parked before; it
   * throws the constraint error SQLite would have raised instead (the caller rolls back).
   */
  settle(local = false): void {
    if (this.dirty.size === 0) return;
    for (const r of this.dirty.keys()) r.t.log.flush(); // candidates read every stored patch
    const dirty = this.dirty;
    const patches = this.patches;
    this.dirty = new Map();
    this.patches = new Map();
    // With none parked, the lookups of parked rows are skipped, and a received batch may take the fast path.
    if (!this.parked.any() && !local && this.fast(patches)) return;
    const run = new Settle(this.parked, this.driver, this.horizon(), (t) => this.rules.get(t));
    for (const [r, keys] of dirty) for (const [k, key] of keys) run.patched(r, k, key);
    const changes = run.drain();
    if (local) {
      const parked = changes.find((c) => !c.released);
      if (parked) throw constraintError(this.rules.get(parked.table)!, parked);
    }
    for (const c of changes) this.pending.push(c);
  }

  /**
   * The fast path of a received batch when nothing is parked: merge its patches as if the tables
   * had no constraints, under a savepoint, and let SQLite check them. When SQLite accepts every
   * row, each row is valid and no other row claims its unique values (none is parked), which is
   * what the rule would decide row by row; a constraint error undoes the savepoint and the
   * caller checks row by row. Not taken where SQLite's check differs from the rule: foreign keys
   * not enforced, a constraint with its own ON CONFLICT clause, a rebuilt row, or a binding that
   * brackets transactions itself (no SAVEPOINT statements).
   */
  private fast(patches: Map<TableRules, Array<readonly [SchemaPatch, boolean]> | null>): boolean {
    if (this.driver.transaction) return false;
    let fkOn: boolean | undefined;
    for (const [r, list] of patches) {
      if (!list || !r.plainUpsert) return false;
      if (r.c.foreignKeys.length > 0 || r.children.length > 0) {
        if (fkOn === undefined) {
          const f = this.fkOn.get([]);
          fkOn = Number(f?.[0]) === 1 && Number(f?.[1]) === 0; // enforced, statement by statement
        }
        if (!fkOn) return false;
      }
    }
    const order = [...patches.keys()].sort((a, b) => a.depth - b.depth);
    this.driver.exec("SAVEPOINT replic_fast");
    try {
      for (const r of order) r.t.rows.replay(patches.get(r)!);
    } catch (err) {
      this.driver.exec("ROLLBACK TO replic_fast");
      this.driver.exec("RELEASE replic_fast");
      if (/constraint/i.test(String((err as Error)?.message ?? err))) return false;
      throw err;
    }
    this.driver.exec("RELEASE replic_fast");
    return true;
  }

  /** The rules of a table with constraints (or referenced by one), by name. */
  rulesOf(table: string): TableRules | undefined {
    return this.rules.get(table);
  }

  /**
   * Per origin, the first sequence of a patch of a parked row: collection stops below it, so a
   * parked row's values stay in `T_patches` until it is shown.
   */
  parkedFloors(): Map<number, number> {
    const floors = new Map<number, number>();
    for (const r of this.rules.values()) {
      for (const reason of ["incomplete", "check", "unique", "parent-missing"] as const) {
        for (const k of this.parked.keys(r.name, reason)) {
          for (const [peer, seq] of r.firstSeqs.all(keyFromText(k))) {
            const p = Number(peer);
            floors.set(p, Math.min(floors.get(p) ?? Infinity, Number(seq)));
          }
        }
      }
    }
    return floors;
  }
}

/** The error SQLite raises for the same violation (a local write is refused as before). */
function constraintError(r: TableRules, c: ParkChange): ValidationError {
  const t = r.name;
  const what =
    c.reason === "incomplete"
      ? `NOT NULL constraint failed: ${t}.${c.detail}`
      : c.reason === "check"
        ? `CHECK constraint failed: ${c.detail}`
        : c.reason === "unique"
          ? `UNIQUE constraint failed: ${c.detail}`
          : `FOREIGN KEY constraint failed: ${t} references a row of ${c.detail} that is not there`;
  return new ValidationError("CONSTRAINT", `SQLite refused the write to "${t}": ${what}`, { table: t });
}
