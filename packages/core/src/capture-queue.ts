/**
 * Captured tables (`capture` option): plain INSERT / UPDATE on `T`, issued on the replica's own
 * connection, become patches. TEMP triggers (they live on this connection only, so writes through
 * other connections are not captured) append what each statement set to a queue table in the
 * database, `_replic_captured_<T>`, inside the application's own transaction: a rolled-back write
 * leaves nothing, a committed one is on disk with it. The local writer drains the queue into
 * patches (capture-drain.ts); a drain is one SQLite transaction that stores the
 * patches and deletes the entries, so a crash either keeps both or neither.
 *
 * Entries: an INSERT stores the whole new row (every column, defaults included) under column -1;
 * an UPDATE stores, for every column named in its SET list (`AFTER UPDATE OF c`, so a column set to
 * its same value counts as set), the key and that column's new value. Changing a primary key and
 * DELETE are refused by BEFORE triggers (replic rows are never hard-deleted: soft delete instead).
 * While replic itself writes `T` (merges, parking), a row in the TEMP pause table switches the
 * triggers off, so replic's own writes are never captured again.
 */
import type { SqliteDriver, SqliteStatement, SqlValue } from "./driver.js";
import { ReplicError } from "./errors.js";
import { INTERNAL_PREFIX, quoteId, readColumns } from "./schema.js";

/** Queue tables are named this plus the table's name. */
export const CAPTURE_QUEUE_PREFIX = `${INTERNAL_PREFIX}captured_`;
/** Queue columns of our own (a table's columns follow, untyped, so values are kept as stored). */
const ENTRY = "_replic_entry";
const COLUMN = "_replic_col";
/** An entry of a whole row (an INSERT). */
export const WHOLE_ROW = -1;
const PAUSE_TABLE = `${INTERNAL_PREFIX}capture_paused`;
const GUARD = `NOT EXISTS (SELECT 1 FROM temp.${PAUSE_TABLE})`;
/** Most entries one drain reads (one drain is one group; a larger backlog drains in several). */
export const DRAIN_CHUNK = 20_000;

/** What the queue needs to know of a replicated table. */
export interface CapturedTableShape {
  name: string;
  columns: { name: string; pk: number }[];
  pkIndexes: number[];
}

/** The entries one drain takes from one queue: every entry up to `last`. */
export interface QueueSlice {
  /** The queue's own statements (opaque outside this file). */
  readonly queue: unknown;
  readonly shape: CapturedTableShape;
  /** Entries taken: no fewer than the patches they fold into. */
  readonly entries: number;
  /** The ids of the first and the last entry taken. */
  readonly first: number;
  readonly last: number;
  /** Whether that is every entry (deleted without WHERE: SQLite drops the pages at once). */
  readonly all: boolean;
}

/** One queued change: its table, the columns it set (sorted) and their values. */
export interface CapturedChange {
  table: string;
  cols: number[];
  values: SqlValue[];
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function queueName(table: string): string {
  return CAPTURE_QUEUE_PREFIX + table;
}

/** The TEMP triggers of one captured table, as `CREATE TEMP TRIGGER` statements, and their names. */
export function captureTriggers(t: CapturedTableShape): { names: string[]; sql: string[] } {
  const T = `main.${quoteId(t.name)}`;
  const q = quoteId(queueName(t.name));
  const cols = t.columns.map((c) => quoteId(c.name));
  const keyCols = t.pkIndexes.map((i) => cols[i]!);
  const names: string[] = [];
  const sql: string[] = [];
  const add = (name: string, body: string) => {
    names.push(name);
    sql.push(`CREATE TEMP TRIGGER ${quoteId(name)} ${body}`);
  };
  const base = `${INTERNAL_PREFIX}capture_${t.name}`;
  add(
    `${base}_insert`,
    `AFTER INSERT ON ${T} WHEN ${GUARD} BEGIN INSERT INTO ${q} (${COLUMN}, ${cols.join(", ")}) VALUES (${WHOLE_ROW}, ${cols
      .map((c) => `NEW.${c}`)
      .join(", ")}); END`,
  );
  t.columns.forEach((c, i) => {
    if (c.pk > 0) return;
    add(
      `${base}_update_${i}`,
      `AFTER UPDATE OF ${cols[i]} ON ${T} WHEN ${GUARD} BEGIN INSERT INTO ${q} (${COLUMN}, ${[...keyCols, cols[i]].join(", ")}) VALUES (${i}, ${[
        ...keyCols,
        cols[i],
      ]
        .map((k) => `NEW.${k}`)
        .join(", ")}); END`,
    );
  });
  const keyChanged = keyCols.map((k) => `OLD.${k} IS NOT NEW.${k}`).join(" OR ");
  add(
    `${base}_key`,
    `BEFORE UPDATE OF ${keyCols.join(", ")} ON ${T} WHEN ${GUARD} AND (${keyChanged}) BEGIN SELECT RAISE(ABORT, ${literal(
      `replic: the primary key of captured table "${t.name}" cannot change (write a new row, and soft-delete the old one)`,
    )}); END`,
  );
  add(
    `${base}_delete`,
    `BEFORE DELETE ON ${T} WHEN ${GUARD} BEGIN SELECT RAISE(ABORT, ${literal(
      `replic: DELETE on captured table "${t.name}" is not replicated; use a soft delete (UPDATE "${t.name}" SET deletedAt = ... WHERE ...)`,
    )}); END`,
  );
  return { names, sql };
}

/** A key for grouping changes of one row: the key values with their types. */
function rowKey(values: readonly SqlValue[]): string {
  let s = "";
  for (const v of values) {
    if (v instanceof Uint8Array) s += `b${Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("")}\u0000`;
    else s += `${typeof v === "bigint" ? "n" : (typeof v)[0]}${String(v)}\u0000`;
  }
  return s;
}

/** The changes of one row in a drain: `set` undefined = the whole row. */
interface Folded {
  set: boolean[] | undefined;
  values: SqlValue[];
}

interface InstalledTable {
  shape: CapturedTableShape;
  triggers: string[];
  /** Over the oldest `?` entries: how many, the last one's id, how many name no valid column, the first one's id. */
  span: SqliteStatement;
  read: SqliteStatement;
  clear: SqliteStatement;
  /** Without WHERE: SQLite's truncate optimization drops the pages at once. */
  clearAll: SqliteStatement;
}

export class CaptureQueue {
  /** Tables whose triggers are installed on this connection, by name. */
  private readonly installed = new Map<string, InstalledTable>();
  /** Queue tables holding entries of a table not installed (left by an earlier process). */
  private readonly leftover = new Map<string, InstalledTable>();
  private anyStmt: SqliteStatement | undefined;
  private readonly pauseStmt: SqliteStatement;
  private readonly resumeStmt: SqliteStatement;
  private paused = 0;

  /** `wanted`: true = every replicated table, a list = those (when they are replicated). */
  constructor(
    private readonly driver: SqliteDriver,
    readonly wanted: true | readonly string[] | undefined,
  ) {
    driver.exec(`CREATE TEMP TABLE IF NOT EXISTS ${PAUSE_TABLE} (paused INTEGER)`);
    driver.exec(`DELETE FROM temp.${PAUSE_TABLE}`);
    this.pauseStmt = driver.prepare(`INSERT INTO temp.${PAUSE_TABLE} VALUES (1)`);
    this.resumeStmt = driver.prepare(`DELETE FROM temp.${PAUSE_TABLE}`);
  }

  /** Whether `table` is to be captured. */
  wants(table: string): boolean {
    return this.wanted === true || (this.wanted !== undefined && this.wanted.includes(table));
  }

  get tables(): string[] {
    return [...this.installed.keys()];
  }

  /**
   * (Re)installs the queue tables and triggers for `tables` (the replicated tables now) and finds
   * queue tables left with entries by an earlier process, so they drain too.
   */
  install(tables: readonly CapturedTableShape[]): void {
    this.uninstall();
    const replicated = new Map(tables.map((t) => [t.name, t]));
    for (const t of tables) {
      if (!this.wants(t.name)) continue;
      this.ensureQueue(t);
      const { names, sql } = captureTriggers(t);
      for (const n of names) this.driver.exec(`DROP TRIGGER IF EXISTS temp.${quoteId(n)}`);
      for (const s of sql) this.driver.exec(s);
      this.installed.set(t.name, { shape: t, triggers: names, ...this.statements(t) });
    }
    const queues = this.driver
      .prepare(`SELECT name FROM main.sqlite_schema WHERE type = 'table' AND substr(name, 1, ?) = ?`)
      .all([CAPTURE_QUEUE_PREFIX.length, CAPTURE_QUEUE_PREFIX]);
    for (const [name] of queues) {
      const table = String(name).slice(CAPTURE_QUEUE_PREFIX.length);
      const shape = replicated.get(table);
      if (this.installed.has(table) || !shape) continue;
      this.ensureQueue(shape);
      this.leftover.set(table, { shape, triggers: [], ...this.statements(shape) });
    }
    const all = [...this.installed.values(), ...this.leftover.values()];
    this.anyStmt =
      all.length === 0
        ? undefined
        : this.driver.prepare(`SELECT ${all.map((t) => `EXISTS (SELECT 1 FROM ${quoteId(queueName(t.shape.name))})`).join(" OR ")}`);
  }

  /** Drops this connection's capture triggers (before a migration changes the tables). */
  uninstall(): void {
    for (const t of this.installed.values()) {
      for (const n of t.triggers) this.driver.exec(`DROP TRIGGER IF EXISTS temp.${quoteId(n)}`);
    }
    this.installed.clear();
    this.leftover.clear();
    this.anyStmt = undefined;
  }

  /** The queue table of `t`, with a column for each of `t`'s columns. */
  private ensureQueue(t: CapturedTableShape): void {
    const q = quoteId(queueName(t.name));
    this.driver.exec(`CREATE TABLE IF NOT EXISTS ${q} (${ENTRY} INTEGER PRIMARY KEY, ${COLUMN} INTEGER NOT NULL)`);
    const have = new Set(readColumns(this.driver, queueName(t.name)).map((c) => c.name));
    for (const c of t.columns) if (!have.has(c.name)) this.driver.exec(`ALTER TABLE ${q} ADD COLUMN ${quoteId(c.name)}`);
  }

  private statements(t: CapturedTableShape): Omit<InstalledTable, "shape" | "triggers"> {
    const q = quoteId(queueName(t.name));
    const valid = [WHOLE_ROW, ...t.columns.flatMap((c, i) => (c.pk > 0 ? [] : [i]))].join(", ");
    return {
      span: this.driver.prepare(
        `SELECT count(*), max(${ENTRY}), sum(${COLUMN} NOT IN (${valid})), min(${ENTRY}) FROM (SELECT ${ENTRY}, ${COLUMN} FROM ${q} ORDER BY ${ENTRY} LIMIT ?)`,
      ),
      read: this.driver.prepare(`SELECT ${ENTRY}, ${COLUMN}, ${t.columns.map((c) => quoteId(c.name)).join(", ")} FROM ${q} WHERE ${ENTRY} <= ? ORDER BY ${ENTRY}`),
      clear: this.driver.prepare(`DELETE FROM ${q} WHERE ${ENTRY} <= ?`),
      clearAll: this.driver.prepare(`DELETE FROM ${q}`),
    };
  }

  /** Whether any queue holds an entry (one statement). */
  pending(): boolean {
    if (!this.anyStmt) return false;
    const r = this.anyStmt.get([]);
    return r !== undefined && r[0] !== 0 && r[0] !== null;
  }

  /**
   * What one drain takes: from each queue in turn, its oldest entries, at most `max` in all
   * (entries fold into no more patches than there are entries). An entry naming a column the
   * table does not have, or a key column, is refused before anything is taken.
   */
  slices(max = DRAIN_CHUNK): QueueSlice[] {
    const out: QueueSlice[] = [];
    let budget = max;
    for (const t of [...this.installed.values(), ...this.leftover.values()]) {
      if (budget <= 0) break;
      const r = t.span.get([budget])!;
      const entries = Number(r[0]);
      if (entries === 0) continue;
      if (Number(r[2]) > 0) {
        throw new ReplicError("SCHEMA_INVALID", `capture queue of "${t.shape.name}" names a column the table does not have, or a key column`);
      }
      out.push({ queue: t, shape: t.shape, entries, first: Number(r[3]), last: Number(r[1]), all: entries < budget });
      budget -= entries;
    }
    return out;
  }

  /**
   * The entries of `s` folded in JS, one change per row (the union of the columns set, the later
   * value winning; an INSERT overwrites what came before), in the order their rows were first
   * written. For the drains that write `T` too (capture-drain.ts).
   */
  fold(s: QueueSlice): CapturedChange[] {
    const t = s.queue as InstalledTable;
    const rows = t.read.all([s.last]);
    const { pkIndexes, columns } = t.shape;
    const width = columns.length;
    const allCols = columns.map((_, i) => i);
    const single = pkIndexes.length === 1 ? pkIndexes[0]! + 2 : -1;
    // Rows by key (a one-column key of a plain type is its own Map key); each whole or partial.
    const byRow = new Map<SqlValue, Folded>();
    for (const r of rows) {
      const col = Number(r[1]);
      const k = r[single];
      const key = single >= 0 && (typeof k === "number" || typeof k === "string" || typeof k === "bigint") ? k : rowKey(pkIndexes.map((i) => r[i + 2]!));
      const c = byRow.get(key);
      if (col === WHOLE_ROW) {
        // An INSERT sets the whole row: whatever came before for this row is overwritten.
        if (c) {
          c.set = undefined;
          c.values = r.slice(2);
        } else byRow.set(key, { set: undefined, values: r.slice(2) });
      } else if (!c) {
        const values = new Array<SqlValue>(width).fill(null);
        const set = new Array<boolean>(width).fill(false);
        for (const i of pkIndexes) {
          set[i] = true;
          values[i] = r[i + 2]!;
        }
        set[col] = true;
        values[col] = r[col + 2]!;
        byRow.set(key, { set, values });
      } else {
        if (c.set) c.set[col] = true;
        c.values[col] = r[col + 2]!;
      }
    }
    const out: CapturedChange[] = [];
    for (const c of byRow.values()) {
      if (!c.set) {
        out.push({ table: t.shape.name, cols: allCols, values: c.values });
        continue;
      }
      const cols: number[] = [];
      const values: SqlValue[] = [];
      for (let i = 0; i < width; i++) {
        if (!c.set[i]) continue;
        cols.push(i);
        values.push(c.values[i]!);
      }
      out.push({ table: t.shape.name, cols, values });
    }
    return out;
  }

  /**
   * The same fold as one SELECT with one parameter, the slice's last entry: per row of `T`, in
   * no order, `"f"` (its first entry: the order to number them in) and per column `"x<i>"`, its
   * value (NULL when not set), and `"s<i>"`, whether it was set. A row with one entry (one INSERT,
   * or an UPDATE of one column) reads it in place; a row with several looks up, per column, the
   * last entry that set it. For slices where some key repeats (flatSql takes the others).
   */
  foldSql(shape: CapturedTableShape): string {
    const q = quoteId(queueName(shape.name));
    const cols = shape.columns.map((c) => quoteId(c.name));
    const inner = [`min(${ENTRY}) AS "f"`, `count(*) AS "n"`];
    const outer: string[] = [];
    shape.columns.forEach((c, i) => {
      inner.push(`${cols[i]} AS "v${i}"`);
      if (c.pk > 0) {
        outer.push(`"v${i}" AS "x${i}"`, `1 AS "s${i}"`);
        return;
      }
      inner.push(`max(CASE WHEN ${COLUMN} IN (${WHOLE_ROW}, ${i}) THEN ${ENTRY} END) AS "l${i}"`);
      outer.push(`CASE WHEN "n" = 1 THEN "v${i}" ELSE (SELECT ${cols[i]} FROM ${q} WHERE ${ENTRY} = "l${i}") END AS "x${i}"`, `"l${i}" IS NOT NULL AS "s${i}"`);
    });
    const keys = shape.pkIndexes.map((i) => cols[i]!).join(", ");
    return `SELECT "f", ${outer.join(", ")} FROM (SELECT ${inner.join(", ")} FROM ${q} WHERE ${ENTRY} <= ? GROUP BY ${keys})`;
  }

  /**
   * The entries up to a last one (param) as patch rows without folding, in the columns of
   * foldSql: right when no key repeats among them (flatCheckSql tells), so each entry is its
   * row's patch — a whole row (an INSERT: every column set) or the key and one column (an UPDATE;
   * the entry's other columns are NULL, as foldSql reads a row of one entry). Folding sorts the
   * queue by key; this reads it in entry order.
   */
  flatSql(shape: CapturedTableShape): string {
    const q = quoteId(queueName(shape.name));
    const cols = shape.columns.map((c, i) => `${quoteId(c.name)} AS "x${i}", ${c.pk > 0 ? "1" : `${COLUMN} IN (${WHOLE_ROW}, ${i})`} AS "s${i}"`);
    return `SELECT ${ENTRY} AS "f", ${cols.join(", ")} FROM ${q} WHERE ${ENTRY} <= ?`;
  }

  /** One row, 1 when no key repeats among the entries up to a last one (param, given twice), so flatSql can take them; else 0. */
  flatCheckSql(shape: CapturedTableShape): string {
    const q = quoteId(queueName(shape.name));
    const keys = shape.pkIndexes.map((i) => quoteId(shape.columns[i]!.name)).join(", ");
    return `SELECT count(*) = (SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM ${q} WHERE ${ENTRY} <= ?)) FROM ${q} WHERE ${ENTRY} <= ?`;
  }

  /** Deletes the entries of `s` (inside the drain's transaction: its rollback keeps them). */
  clear(s: QueueSlice): void {
    const t = s.queue as InstalledTable;
    if (s.all) t.clearAll.run([]);
    else t.clear.run([s.last]);
  }

  /** Switches capture off while replic writes `T` itself (nested calls count). */
  pause(): void {
    if (this.paused++ === 0) this.pauseStmt.run([]);
  }

  resume(): void {
    if (this.paused === 0) return;
    if (--this.paused === 0) this.resumeStmt.run([]);
  }

  /** Runs `fn` with capture off. */
  quiet<T>(fn: () => T): T {
    this.pause();
    try {
      return fn();
    } finally {
      this.resume();
    }
  }
}

/** Whether the database holds capture queues (a replica opened without `capture` still drains them). */
export function hasCaptureQueues(driver: SqliteDriver): boolean {
  return (
    driver.prepare(`SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND substr(name, 1, ?) = ? LIMIT 1`).get([CAPTURE_QUEUE_PREFIX.length, CAPTURE_QUEUE_PREFIX]) !==
    undefined
  );
}
