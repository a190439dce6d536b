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
 *     shown (a row may reference itself).
 * Tables with none of these constraints (and that no replicated table references) never come
 * here: the merger writes them straight into `T`. The others' rows are handed over by the merger
 * (row-merge.ts) and settled once per batch: each key is evaluated, and whatever its change may
 * affect (rows competing for its unique values, rows referencing it) is evaluated again until
 * nothing changes. Parking and releasing happen in the caller's transaction.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { ReplicError, ValidationError } from "./errors.js";
import { NAME_SEPARATOR, NULLS_TABLE } from "./null-store.js";
import { keyFromText, keyText, ParkedRows, type ParkReason } from "./parked-rows.js";
import type { ParkedEvent } from "./events.js";
import type { SchemaPatch } from "./local-patch.js";
import type { ReplicatedTable } from "./replicated-table.js";
import { checkSql, guarded, readConstraints, type ForeignKey, type RowConstraints } from "./row-constraints.js";
import { INTERNAL_PREFIX, quoteId, type TableSchema } from "./schema.js";

/** A row parked or released by one commit (net: a row parked and released again in it is not one). */
export type ParkChange = ParkedEvent;

type Stamp = readonly [number, number, number];
const BEFORE_ALL: Stamp = [0, 0, 0];

interface Candidate {
  values: SqlValue[];
  /** Per column: the patch whose value it holds (the row's first patch for a column no patch set). */
  stamps: Stamp[];
  /** Columns a patch set (or, once patches were collected, the row as it is in `T`). */
  set: boolean[];
}

interface Verdict {
  reason: ParkReason;
  detail: string;
}

interface Child {
  rules: TableRules;
  fk: ForeignKey;
  /** Keys of the child's visible rows referencing given parent values. */
  lookup: SqliteStatement;
}

/** One guarded table's statements and constraints. */
class TableRules {
  readonly children: Child[] = [];
  readonly patches: SqliteStatement;
  readonly row: SqliteStatement;
  readonly check: ((values: SqlValue[]) => SqlValue[]) | undefined;
  private defaultsStmt: SqliteStatement | undefined;
  readonly holders: SqliteStatement[];
  readonly parents: (SqliteStatement | undefined)[];
  readonly keyNames: string[];
  /** SQLite enforces this table's constraints on an upsert exactly as the rule would (see Visibility.fast). */
  readonly plainUpsert: boolean;
  /** Longest chain of foreign keys above this table: parents are replayed before children. */
  depth = 0;
  /** Per origin, the first sequence among a row's patches. */
  readonly firstSeqs: SqliteStatement;

  constructor(
    driver: SqliteDriver,
    readonly t: ReplicatedTable,
    readonly c: RowConstraints,
  ) {
    const s = t.schema;
    const cols = s.columns.map((x) => quoteId(x.name));
    const pk = s.pkIndexes.map((i) => cols[i]!);
    const pkWhere = pk.map((n) => `${n} = ?`).join(" AND ");
    this.keyNames = s.pkIndexes.map((i) => s.columns[i]!.name);
    const nullsOf = s.inlineNulls ? `p."_nulls"` : "n.cols";
    const joinNulls = s.inlineNulls ? "" : `LEFT JOIN ${NULLS_TABLE} AS n ON n.peerId = p."_peerId" AND n.seq = p."_sequenceId"`;
    this.patches = driver.prepare(
      `SELECT ${cols.map((x) => `p.${x}`).join(", ")}, ${nullsOf}, p."_patchedAt", p."_peerId", p."_sequenceId"
       FROM ${quoteId(s.patchesName)} AS p ${joinNulls}
       WHERE ${pk.map((n) => `p.${n} = ?`).join(" AND ")} ORDER BY p."_patchedAt", p."_peerId", p."_sequenceId"`,
    );
    this.row = driver.prepare(`SELECT ${cols.join(", ")} FROM ${quoteId(s.name)} WHERE ${pkWhere}`);
    this.firstSeqs = driver.prepare(`SELECT "_peerId", min("_sequenceId") FROM ${quoteId(s.patchesName)} WHERE ${pkWhere} GROUP BY "_peerId"`);
    this.check = c.checks.length > 0 ? checker(driver, s, c.checks) : undefined;
    this.holders = c.unique.map((u) =>
      driver.prepare(`SELECT ${pk.join(", ")} FROM ${quoteId(s.name)} WHERE ${u.cols.map((i) => `${cols[i]} = ?`).join(" AND ")}`),
    );
    this.parents = c.foreignKeys.map((fk) => {
      try {
        return driver.prepare(`SELECT 1 FROM ${quoteId(fk.parent)} WHERE ${fk.to.map((n) => `${quoteId(n)} = ?`).join(" AND ")} LIMIT 1`);
      } catch {
        return undefined; // the parent table does not exist (yet): no parent is ever there
      }
    });
    // An ON CONFLICT clause of a constraint (REPLACE, IGNORE, ...) would resolve a conflict itself;
    // a deferred foreign key is checked only at COMMIT.
    this.plainUpsert = !/\bON\s+CONFLICT\b|\bDEFERRED\b/i.test(String(driver.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).get([s.name])?.[0] ?? ""));
    this.defaultSql = `SELECT ${c.defaults.map((d) => (d === null ? "NULL" : `(${d})`)).join(", ")}`;
  }

  private readonly defaultSql: string;

  defaults(driver: SqliteDriver): SqlValue[] {
    this.defaultsStmt ??= driver.prepare(this.defaultSql);
    return this.defaultsStmt.get([])!;
  }

  get name(): string {
    return this.t.name;
  }
}

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
    const run = new Settle(this, this.driver, this.horizon());
    for (const [r, keys] of dirty) for (const [k, key] of keys) run.push(r, k, key);
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

/**
 * Evaluates a table's CHECKs over a candidate: on a row of a temporary table with the same
 * declared column types, so the values are converted by column affinity first, as SQLite does
 * before it checks; or, where temporary tables are refused, over the values as they are.
 */
function checker(driver: SqliteDriver, s: TableSchema, checks: readonly string[]): (values: SqlValue[]) => SqlValue[] {
  const temp = quoteId(`${INTERNAL_PREFIX}check_${s.name}`);
  try {
    driver.exec(`DROP TABLE IF EXISTS temp.${temp}`);
    driver.exec(`CREATE TEMP TABLE ${temp} (${s.columns.map((c) => `${quoteId(c.name)} ${c.type}`).join(", ")})`);
    const insert = driver.prepare(`INSERT INTO temp.${temp} VALUES (${s.columns.map(() => "?").join(", ")})`);
    const tests = checks.map((x) => `coalesce(CAST((${x}) AS REAL) <> 0, 1)`).join(", ");
    const select = driver.prepare(`SELECT ${tests} FROM temp.${temp} AS ${quoteId(s.name)}`);
    const clear = driver.prepare(`DELETE FROM temp.${temp}`);
    return (values) => {
      insert.run(values);
      try {
        return select.get([])!;
      } finally {
        clear.run([]);
      }
    };
  } catch {
    const stmt = driver.prepare(checkSql(s, checks));
    return (values) => stmt.get(values)!;
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

/** Evaluations before a settle is declared looping (a bug, not a state of the data). */
const MAX_STEPS = 1_000_000;

/** One settle: a work list of keys, evaluated until nothing changes. */
class Settle {
  private queue: Array<[TableRules, string, SqlValue[]]> = [];
  private head = 0;
  private readonly queued = new Set<string>();
  /** Tables whose rows changed: their dependents are evaluated again once the queue is empty. */
  private readonly flagged = new Set<TableRules>();
  /** Per row touched: parked before the settle (reason), or undefined when it was not. */
  private readonly before = new Map<string, { r: TableRules; key: SqlValue[]; was: { reason: ParkReason; detail: string } | undefined }>();

  constructor(
    private readonly v: Visibility,
    private readonly driver: SqliteDriver,
    private readonly horizon: number,
  ) {}

  push(r: TableRules, k: string, key: SqlValue[]): void {
    const id = `${r.name}\u0000${k}`;
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push([r, k, key]);
  }

  drain(): ParkChange[] {
    let steps = 0;
    for (;;) {
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
        if (this.flagged.size === 0) break;
        const tables = [...this.flagged];
        this.flagged.clear();
        for (const r of tables) this.pushDependents(r);
        continue;
      }
      if (++steps > MAX_STEPS) throw new ReplicError("SQLITE", "row visibility did not settle (a cycle between constraints)");
      const [r, k, key] = this.queue[this.head++]!;
      this.queued.delete(`${r.name}\u0000${k}`);
      this.evaluate(r, k, key);
    }
    const out: ParkChange[] = [];
    for (const { r, key, was } of this.before.values()) {
      const now = this.v.parked.get(r.name, keyText(key));
      if (now && !was) out.push({ table: r.name, key: keyObject(r, key), ...now, released: false });
      else if (!now && was) out.push({ table: r.name, key: keyObject(r, key), ...was, released: true });
    }
    return out;
  }

  private remember(r: TableRules, k: string, key: SqlValue[]): void {
    const id = `${r.name}\u0000${k}`;
    if (!this.before.has(id)) this.before.set(id, { r, key, was: this.v.parked.get(r.name, k) });
  }

  private evaluate(r: TableRules, k: string, key: SqlValue[]): void {
    this.remember(r, k, key);
    const old = r.row.get(key);
    const wasParked = this.v.parked.get(r.name, k);
    const cand = this.candidate(r, key, old);
    if (!cand) {
      // No patch of this row is stored (its only one was replaced): nothing to show or park.
      if (wasParked) this.v.parked.remove(r.name, k);
      return;
    }
    const losers: Array<[string, SqlValue[], string]> = [];
    const verdict = this.intrinsic(r, cand) ?? this.unique(r, k, cand, losers) ?? this.parent(r, cand);
    // Rows holding a value this candidate claims earlier lose it, whatever becomes of this one.
    for (const [hk, hkey, detail] of losers) this.park(r, hk, hkey, { reason: "unique", detail }, true);
    if (verdict) {
      if (old) this.hide(r, key, old);
      if (!wasParked || wasParked.reason !== verdict.reason || wasParked.detail !== verdict.detail) {
        this.v.parked.put(r.name, k, verdict.reason, verdict.detail);
      }
      if (old || !wasParked || wasParked.reason !== verdict.reason) this.dependents(r);
      return;
    }
    let changed = !old;
    if (old) {
      for (let c = 0; c < old.length && !changed; c++) changed = !sameValue(old[c]!, cand.values[c]!);
      // Rows referencing values this row no longer has lose their parent.
      if (changed) this.orphanChildren(r, key, old, cand.values);
    }
    const cols: number[] = [];
    const vals: SqlValue[] = [];
    for (let c = 0; c < cand.values.length; c++) {
      if (cand.set[c]) {
        cols.push(c);
        vals.push(cand.values[c]!);
      }
    }
    if (changed) r.t.rows.writeRow(cols, vals);
    if (wasParked) this.v.parked.remove(r.name, k);
    if (changed || wasParked) this.dependents(r);
  }

  /** Parks a row now and evaluates it again later (its reason may be another one then). */
  private park(r: TableRules, k: string, key: SqlValue[], why: Verdict, requeue: boolean): void {
    this.remember(r, k, key);
    const old = r.row.get(key);
    if (old) this.hide(r, key, old);
    const was = this.v.parked.get(r.name, k);
    if (!was) this.v.parked.put(r.name, k, why.reason, why.detail);
    if (requeue) this.push(r, k, key);
    this.dependents(r);
  }

  /** Takes a visible row out of `T`, its referencing rows first (so no foreign key action fires). */
  private hide(r: TableRules, key: SqlValue[], old: SqlValue[]): void {
    this.orphanChildren(r, key, old, undefined);
    r.t.rows.deleteRow(key);
  }

  /** Parks the visible rows referencing `old` values of this row that `now` (undefined: gone) no longer has. */
  private orphanChildren(r: TableRules, key: SqlValue[], old: SqlValue[], now: SqlValue[] | undefined): void {
    for (const ch of r.children) {
      const refs = ch.fk.to.map((n) => old[r.t.schema.columnIndex.get(n)!]!);
      if (refs.some((x) => x === null)) continue;
      if (now && ch.fk.to.every((n) => sameValue(now[r.t.schema.columnIndex.get(n)!]!, old[r.t.schema.columnIndex.get(n)!]!))) continue;
      const selfKey = keyText(key);
      for (const ckey of ch.lookup.all(refs)) {
        const ck = keyText(ckey);
        if (ch.rules === r && ck === selfKey) continue; // a row referencing itself goes with it
        this.park(ch.rules, ck, ckey, { reason: "parent-missing", detail: r.name }, true);
      }
    }
  }

  /** Rows whose verdict may depend on this table's rows: its unique losers, and its children's orphans. */
  private dependents(r: TableRules): void {
    this.flagged.add(r);
  }

  private pushDependents(r: TableRules): void {
    if (r.c.unique.length > 0) for (const k of this.v.parked.keys(r.name, "unique")) this.push(r, k, keyFromText(k));
    for (const ch of r.children) for (const k of this.v.parked.keys(ch.rules.name, "parent-missing")) this.push(ch.rules, k, keyFromText(k));
  }

  /**
   * The merged row of `key` from its stored patches, or undefined when none is stored. Once
   * patches were collected, the row as shown (`old`) is the base they are merged onto.
   */
  candidate(r: TableRules, key: SqlValue[], old: SqlValue[] | undefined): Candidate | undefined {
    const rows = r.patches.all(key);
    if (rows.length === 0) return undefined;
    const s = r.t.schema;
    const w = s.columns.length;
    const first: Stamp = [Number(rows[0]![w + 1]), Number(rows[0]![w + 2]), Number(rows[0]![w + 3])];
    const values = new Array<SqlValue>(w).fill(null);
    const stamps = new Array<Stamp>(w).fill(first);
    const set = new Array<boolean>(w).fill(false);
    if (this.horizon > 0 && old) {
      for (let c = 0; c < w; c++) {
        values[c] = old[c]!;
        set[c] = true;
        stamps[c] = BEFORE_ALL;
      }
    }
    for (const row of rows) {
      const stamp: Stamp = [Number(row[w + 1]), Number(row[w + 2]), Number(row[w + 3])];
      const explicit = row[w] === null ? undefined : String(row[w]).split(NAME_SEPARATOR);
      for (let c = 0; c < w; c++) {
        if (row[c] !== null) {
          values[c] = row[c]!;
        } else if (explicit?.includes(s.columns[c]!.name)) {
          values[c] = null;
        } else continue;
        set[c] = true;
        stamps[c] = stamp;
      }
    }
    // A column no patch set: as shown, or SQLite's DEFAULT for a row not shown yet.
    let defaults: SqlValue[] | undefined;
    for (let c = 0; c < w; c++) {
      if (set[c]) continue;
      if (old) values[c] = old[c]!;
      else if (r.c.defaults[c] !== null) values[c] = (defaults ??= r.defaults(this.driver))[c]!;
    }
    return { values, stamps, set };
  }

  private intrinsic(r: TableRules, cand: Candidate): Verdict | undefined {
    for (const c of r.c.notNull) {
      if (cand.values[c] === null) return { reason: "incomplete", detail: r.t.schema.columns[c]!.name };
    }
    if (r.check) {
      const res = r.check(cand.values);
      for (let i = 0; i < res.length; i++) if (Number(res[i]) === 0) return { reason: "check", detail: r.c.checks[i]! };
    }
    return undefined;
  }

  /**
   * Step 2 for one candidate that passed step 1: undefined when it holds every unique value it
   * claims. Visible rows claiming one of them later are put in `losers`.
   */
  private unique(r: TableRules, k: string, cand: Candidate, losers: Array<[string, SqlValue[], string]>): Verdict | undefined {
    let lost: Verdict | undefined;
    let rivals: Array<[string, SqlValue[], Candidate]> | undefined;
    r.c.unique.forEach((u, i) => {
      const vals = u.cols.map((c) => cand.values[c]!);
      if (vals.some((x) => x === null)) return; // NULLs never collide
      const claim = claimOf(cand, u.cols);
      const detail = `${r.name}.${u.cols.map((c) => r.t.schema.columns[c]!.name).join(", ")}`;
      for (const hkey of r.holders[i]!.all(vals)) {
        const hk = keyText(hkey);
        if (hk === k) continue;
        const h = this.candidate(r, hkey, r.row.get(hkey));
        const hclaim = h ? claimOf(h, u.cols) : BEFORE_ALL;
        if (earlier(hclaim, hk, claim, k)) lost ??= { reason: "unique", detail };
        else losers.push([hk, hkey, detail]);
      }
      // Parked rows that passed step 1 claim their values too.
      if (!rivals) {
        rivals = [];
        for (const reason of ["unique", "parent-missing"] as const) {
          for (const pk of this.v.parked.keys(r.name, reason)) {
            if (pk === k) continue;
            const pkey = keyFromText(pk);
            const pc = this.candidate(r, pkey, undefined);
            if (pc) rivals.push([pk, pkey, pc]);
          }
        }
      }
      for (const [pk, , pc] of rivals) {
        if (!u.cols.every((c, j) => sameValue(pc.values[c]!, vals[j]!))) continue;
        if (earlier(claimOf(pc, u.cols), pk, claim, k)) lost ??= { reason: "unique", detail };
      }
    });
    return lost;
  }

  private parent(r: TableRules, cand: Candidate): Verdict | undefined {
    const s = r.t.schema;
    for (let i = 0; i < r.c.foreignKeys.length; i++) {
      const fk = r.c.foreignKeys[i]!;
      const vals = fk.from.map((c) => cand.values[c]!);
      if (vals.some((x) => x === null)) continue; // SQLite: a NULL in the key references nothing
      if (fk.parent === r.name && fk.to.every((n, j) => sameValue(cand.values[s.columnIndex.get(n)!]!, vals[j]!))) continue;
      const stmt = r.parents[i];
      if (!stmt || stmt.get(vals) === undefined) return { reason: "parent-missing", detail: fk.parent };
    }
    return undefined;
  }
}

function keyObject(r: TableRules, key: readonly SqlValue[]): Record<string, SqlValue> {
  const o: Record<string, SqlValue> = {};
  r.keyNames.forEach((n, i) => (o[n] = key[i]!));
  return o;
}

/** When a row claimed a unique value: the newest of the patches that set the index's columns. */
function claimOf(c: Candidate, cols: readonly number[]): Stamp {
  let best = c.stamps[cols[0]!]!;
  for (const i of cols) if (compare(c.stamps[i]!, best) > 0) best = c.stamps[i]!;
  return best;
}

function compare(a: Stamp, b: Stamp): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Patch order, then key text: two different rows never tie. */
function earlier(a: Stamp, ak: string, b: Stamp, bk: string): boolean {
  const c = compare(a, b);
  return c < 0 || (c === 0 && ak < bk);
}

export function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  // An integer may come back as number or bigint; otherwise storage classes differ (5 is not "5").
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) return a == b;
  return a === b;
}
