/**
 * One settle of row visibility (visibility.ts): a work list of keys, each evaluated in three
 * steps (NOT NULL and CHECK; unique values; parents shown), until nothing changes; then the
 * parked rows that are valid only together (foreign-key cycles, valid-together.ts) are shown
 * together, and what that affects is evaluated again.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { ReplicError } from "./errors.js";
import type { ParkedEvent } from "./events.js";
import { keyFromText, keyText, type ParkedRows, type ParkReason } from "./parked-rows.js";
import { BEFORE_ALL, candidateOf, claimOf, earlier, sameValue, type Candidate } from "./row-candidate.js";
import type { TableRules } from "./table-rules.js";
import { validTogether } from "./valid-together.js";

interface Verdict {
  reason: ParkReason;
  detail: string;
}

/** Evaluations before a settle is declared looping (a bug, not a state of the data). */
const MAX_STEPS = 1_000_000;

export class Settle {
  private queue: Array<[TableRules, string, SqlValue[]]> = [];
  private head = 0;
  private readonly queued = new Set<string>();
  /** Rows whose patches changed in this batch, not evaluated since (patched()). */
  private readonly changedByPatches = new Set<string>();
  /** Tables whose rows changed: their dependents are evaluated again once the queue is empty. */
  private readonly flagged = new Set<TableRules>();
  /** Rows being taken out of `T` (a cycle of references leads back to them), and how deep. */
  private readonly hiding = new Set<string>();
  private hideDepth = 0;
  /** Rows to delete from `T` once every row referencing them is parked, children first. */
  private doomed: Array<[TableRules, SqlValue[]]> = [];
  private fkState: SqliteStatement | undefined;
  /** Per row touched: parked before the settle (reason), or undefined when it was not. */
  private readonly before = new Map<string, { r: TableRules; k: string; key: SqlValue[]; was: Verdict | undefined }>();

  constructor(
    private readonly parked: ParkedRows,
    private readonly driver: SqliteDriver,
    /** The collection horizon: above 0, some patches may have been collected. */
    private readonly horizon: number,
    private readonly rulesOf: (table: string) => TableRules | undefined,
  ) {}

  /**
   * A row whose patches changed in this batch. Parked, its claims may have changed too (parked
   * rows claim unique values), so the rows that depend on its table are evaluated again.
   */
  patched(r: TableRules, k: string, key: SqlValue[]): void {
    this.changedByPatches.add(rowId(r.name, k));
    this.push(r, k, key);
  }

  push(r: TableRules, k: string, key: SqlValue[]): void {
    const id = rowId(r.name, k);
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push([r, k, key]);
  }

  /** Evaluates until nothing changes; returns the net changes (a row parked and released again is none). */
  drain(): ParkedEvent[] {
    let steps = 0;
    for (;;) {
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
        if (this.flagged.size === 0 && !this.showTogether()) break;
        const tables = [...this.flagged];
        this.flagged.clear();
        for (const r of tables) this.pushDependents(r);
        continue;
      }
      if (++steps > MAX_STEPS) throw new ReplicError("SQLITE", "row visibility did not settle (a cycle between constraints)");
      const [r, k, key] = this.queue[this.head++]!;
      this.queued.delete(rowId(r.name, k));
      this.evaluate(r, k, key);
    }
    const out: ParkedEvent[] = [];
    for (const { r, k, key, was } of this.before.values()) {
      const now = this.parked.get(r.name, k);
      if (now && !was) out.push({ table: r.name, key: keyObject(r, key), ...now, released: false });
      else if (!now && was) out.push({ table: r.name, key: keyObject(r, key), ...was, released: true });
    }
    return out;
  }

  private remember(r: TableRules, k: string, key: SqlValue[]): void {
    const id = rowId(r.name, k);
    if (!this.before.has(id)) this.before.set(id, { r, k, key, was: this.parked.get(r.name, k) });
  }

  private evaluate(r: TableRules, k: string, key: SqlValue[]): void {
    const repatched = this.changedByPatches.delete(rowId(r.name, k));
    this.remember(r, k, key);
    const old = r.row.get(key);
    const wasParked = this.parked.get(r.name, k);
    const cand = this.candidate(r, key, old);
    if (!cand) {
      // No patch of this row is stored (its only one was replaced): nothing to show or park.
      if (wasParked) this.parked.remove(r.name, k);
      return;
    }
    const losers: Array<[string, SqlValue[], string]> = [];
    const claimed = this.intrinsic(r, cand) ?? this.unique(r, k, cand, losers);
    // Rows holding a value this candidate claims earlier lose it, whatever becomes of this one;
    // they leave T before its parents are looked up (a loser may be one of them).
    for (const [hk, hkey, detail] of losers) this.park(r, hk, hkey, { reason: "unique", detail });
    const verdict = claimed ?? this.parent(r, cand);
    if (verdict) {
      if (old) this.hide(r, key, old);
      if (!wasParked || wasParked.reason !== verdict.reason || wasParked.detail !== verdict.detail) {
        this.parked.put(r.name, k, verdict.reason, verdict.detail);
      }
      if (old || !wasParked || wasParked.reason !== verdict.reason || repatched) this.dependents(r);
      return;
    }
    let changed = !old;
    if (old) {
      for (let c = 0; c < old.length && !changed; c++) changed = !sameValue(old[c]!, cand.values[c]!);
      // Rows referencing values this row no longer has lose their parent.
      if (changed) this.orphanChildren(r, key, old, cand.values);
    }
    if (changed) this.show(r, cand);
    if (wasParked) this.parked.remove(r.name, k);
    if (changed || wasParked) this.dependents(r);
  }

  /** Writes a candidate into `T`: exactly the columns its patches set (SQLite fills the others). */
  private show(r: TableRules, cand: Candidate): void {
    const cols: number[] = [];
    const vals: SqlValue[] = [];
    for (let c = 0; c < cand.values.length; c++) {
      if (cand.set[c]) {
        cols.push(c);
        vals.push(cand.values[c]!);
      }
    }
    r.t.rows.writeRow(cols, vals);
  }

  /**
   * Shows the parked rows touched by this settle that are valid only together, with whatever
   * else they need (valid-together.ts). Their foreign keys are checked by SQLite at the end of
   * the transaction instead of row by row (no order of a cycle's rows satisfies them one at a
   * time); the set is closed (every parent is shown or in it), so none is left broken then.
   * Returns whether rows were shown.
   */
  private showTogether(): boolean {
    const seeds: Array<[TableRules, string, SqlValue[]]> = [];
    for (const { r, k, key } of this.before.values()) if (this.parked.get(r.name, k)?.reason === "parent-missing") seeds.push([r, k, key]);
    if (seeds.length === 0) return false;
    const members = validTogether(seeds, this.parked, this.rulesOf, (r, key) => this.candidate(r, key, undefined));
    if (members.length === 0) return false;
    // Where foreign keys cannot be deferred, the rows stay parked (SQLite would refuse each).
    return this.deferred(() => {
      for (const m of members) {
        this.remember(m.r, m.k, m.key);
        this.show(m.r, m.cand);
        this.parked.remove(m.r.name, m.k);
        this.dependents(m.r);
      }
    });
  }

  /** Parks a row now and evaluates it again later (its reason may be another one then). */
  private park(r: TableRules, k: string, key: SqlValue[], why: Verdict): void {
    this.remember(r, k, key);
    const old = r.row.get(key);
    if (old) this.hide(r, key, old);
    const was = this.parked.get(r.name, k);
    if (!was) this.parked.put(r.name, k, why.reason, why.detail);
    this.push(r, k, key);
    this.dependents(r);
  }

  /**
   * Takes a visible row out of `T` with every row referencing it, directly or through others:
   * all of them are parked first, then deleted children first, so no `ON DELETE` action reaches
   * a row that stays. Rows referencing each other leave together: SQLite checks their foreign
   * keys at the end of the transaction, when all of them are gone.
   */
  private hide(r: TableRules, key: SqlValue[], old: SqlValue[]): void {
    const id = rowId(r.name, keyText(key));
    if (this.hiding.has(id)) return; // a cycle led back here: the row is on its way out
    this.hiding.add(id);
    this.hideDepth++;
    this.orphanChildren(r, key, old, undefined);
    this.hideDepth--;
    this.doomed.push([r, key]);
    if (this.hideDepth > 0) return;
    const doomed = this.doomed;
    this.doomed = [];
    this.hiding.clear();
    const remove = () => {
      for (const [dr, dkey] of doomed) dr.t.rows.deleteRow(dkey);
    };
    if (!this.deferred(remove)) remove(); // children first: only a cycle needs the deferral
  }

  /**
   * Runs `fn` with foreign keys checked at the end of the transaction instead of statement by
   * statement, then switches back (later statements are checked at once again); nothing to
   * switch when they are not enforced or already deferred. Returns false, without running `fn`,
   * on a host that refuses the pragma.
   */
  private deferred(fn: () => void): boolean {
    this.fkState ??= this.driver.prepare("SELECT foreign_keys, defer_foreign_keys FROM pragma_foreign_keys, pragma_defer_foreign_keys");
    const [on, deferred] = this.fkState.get([])!;
    if (Number(on) !== 1 || Number(deferred) === 1) {
      fn();
      return true;
    }
    try {
      this.driver.exec("PRAGMA defer_foreign_keys = ON");
    } catch {
      return false;
    }
    try {
      fn();
    } finally {
      this.driver.exec("PRAGMA defer_foreign_keys = OFF");
    }
    return true;
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
        this.park(ch.rules, ck, ckey, { reason: "parent-missing", detail: r.name });
      }
    }
  }

  /** Rows whose verdict may depend on this table's rows: its unique losers, and its children's orphans. */
  private dependents(r: TableRules): void {
    this.flagged.add(r);
  }

  private pushDependents(r: TableRules): void {
    if (r.c.unique.length > 0) for (const k of this.parked.keys(r.name, "unique")) this.push(r, k, keyFromText(k));
    for (const ch of r.children) for (const k of this.parked.keys(ch.rules.name, "parent-missing")) this.push(ch.rules, k, keyFromText(k));
  }

  private candidate(r: TableRules, key: SqlValue[], old: SqlValue[] | undefined): Candidate | undefined {
    return candidateOf(this.driver, r, key, old, this.horizon);
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
          for (const pk of this.parked.keys(r.name, reason)) {
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

/** One row of one table, as the run's sets name it. */
function rowId(table: string, k: string): string {
  return `${table}\u0000${k}`;
}

function keyObject(r: TableRules, key: readonly SqlValue[]): Record<string, SqlValue> {
  const o: Record<string, SqlValue> = {};
  r.keyNames.forEach((n, i) => (o[n] = key[i]!));
  return o;
}
