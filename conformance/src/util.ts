/**
 * Helpers shared by the conformance suites: exact typed dumps of SQLite tables, a plain
 * TypeScript model of the merge rule (README, "Merge rule"), a seeded PRNG and small utilities.
 */
import { createHash } from "node:crypto";
import type { ConformanceBinding, ReplicaLike, SqlValue } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Typed cells: a value as SQLite stores it, compared exactly (integer vs real, blobs byte-wise).

export type Cell =
  | { t: "n" }
  | { t: "i"; v: bigint }
  | { t: "r"; v: number }
  | { t: "t"; v: string }
  | { t: "b"; v: string /* lowercase hex */ };

export function cellString(c: Cell): string {
  switch (c.t) {
    case "n":
      return "null";
    case "i":
      return `int:${c.v.toString()}`;
    case "r":
      // String(double) is the shortest round-trip form in every engine (V8, JSC): exact.
      return `real:${Object.is(c.v, -0) ? "-0" : String(c.v)}`;
    case "t":
      return `text:${JSON.stringify(c.v)}`;
    case "b":
      return `blob:${c.v}`;
  }
}

export function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

const utf8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** SQLite's ORDER BY for BINARY collation: NULL < numbers < text (memcmp UTF-8) < blob. */
export function compareCells(a: Cell, b: Cell): number {
  const rank = (c: Cell) => (c.t === "n" ? 0 : c.t === "i" || c.t === "r" ? 1 : c.t === "t" ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (a.t === "i" && b.t === "i") return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  if ((a.t === "i" || a.t === "r") && (b.t === "i" || b.t === "r")) {
    const x = Number(a.v);
    const y = Number(b.v);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.t === "t" && b.t === "t") return compareBytes(utf8.encode(a.v), utf8.encode(b.v));
  if (a.t === "b" && b.t === "b") return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  return 0;
}

export type Affinity = "INTEGER" | "TEXT" | "BLOB" | "REAL" | "NUMERIC";

/** SQLite's column affinity rules (datatype docs, section 3.1). */
export function affinityOf(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes("INT")) return "INTEGER";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "TEXT";
  if (t.includes("BLOB") || t === "") return "BLOB";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Text SQLite's numeric affinities read as a number (spaces, sign, digits, point, exponent). */
const NUMBER_TEXT = /^[ \t\n\v\f\r]*([+-]?)(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\v\f\r]*$/;

function numberInText(text: string): number | bigint | undefined {
  const m = NUMBER_TEXT.exec(text);
  if (!m) return undefined;
  if (!m[2]!.includes(".") && m[3] === undefined) {
    const i = (m[1] === "-" ? -1n : 1n) * BigInt(m[2]!);
    if (i >= INT64_MIN && i <= INT64_MAX) return i;
  }
  return Number(m[1]! + m[2]! + (m[3] ?? ""));
}

/**
 * The cell SQLite stores when `value` is written to a column of the given affinity (plain
 * tables): numbers into REAL become REAL, integers into TEXT their decimal text, text that reads
 * as a number into INTEGER, REAL or NUMERIC that number, an integral REAL into INTEGER or
 * NUMERIC an integer; a column without a type (BLOB) stores values as bound (a JavaScript
 * number is bound as an integer when it is a safe integer).
 */
export function cellOf(affinity: Affinity, value: SqlValue): Cell {
  if (value === null || value === undefined) return { t: "n" };
  if (value instanceof Uint8Array) return { t: "b", v: hex(value) };
  if (typeof value === "string") {
    if (affinity !== "TEXT" && affinity !== "BLOB") {
      const n = numberInText(value);
      if (n !== undefined) return cellOf(affinity, n);
    }
    return { t: "t", v: value };
  }
  if (typeof value === "bigint") {
    if (affinity === "REAL") return { t: "r", v: Number(value) };
    if (affinity === "TEXT") return { t: "t", v: String(value) };
    return { t: "i", v: value };
  }
  if (typeof value === "number") {
    if (affinity === "REAL") return { t: "r", v: value + 0 /* SQLite has no -0 once stored */ };
    if (affinity === "TEXT" && Number.isSafeInteger(value)) return { t: "t", v: String(value + 0) };
    if (affinity === "BLOB") return Number.isSafeInteger(value) ? { t: "i", v: BigInt(value) } : { t: "r", v: value };
    if (Number.isInteger(value)) {
      const b = BigInt(value);
      if (b >= INT64_MIN && b <= INT64_MAX) return { t: "i", v: b };
    }
    return { t: "r", v: value };
  }
  throw new Error(`conformance: cannot model value ${String(value)}`);
}

// ---------------------------------------------------------------------------------------------
// Reading tables back exactly.

export interface ColumnSpec {
  name: string;
  type: string;
  affinity: Affinity;
  /** 1-based position in the primary key, 0 if not part of it. */
  pk: number;
}

export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function columnsOf<Db>(b: ConformanceBinding<Db>, db: Db, table: string): ColumnSpec[] {
  const rows = b.all(db, `SELECT name, type, pk FROM pragma_table_info(${lit(table)}) ORDER BY cid`);
  return rows.map((r) => ({
    name: String(r.name),
    type: String(r.type ?? ""),
    affinity: affinityOf(String(r.type ?? "")),
    pk: Number(r.pk),
  }));
}

export function pkColumns(cols: ColumnSpec[]): ColumnSpec[] {
  return cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
}

/** Every row of `table` as typed cells, ordered by `orderBy` (default: primary key, else all). */
export function typedRows<Db>(
  b: ConformanceBinding<Db>,
  db: Db,
  table: string,
  cols = columnsOf(b, db, table),
  orderBy?: string[],
): Cell[][] {
  if (cols.length === 0) throw new Error(`conformance: table ${table} does not exist`);
  const select = cols
    .map((c, i) => {
      const x = q(c.name);
      return (
        `typeof(${x}) AS t${i}, ` +
        `CASE WHEN typeof(${x}) IN ('integer','text') THEN CAST(${x} AS TEXT) ` +
        `WHEN typeof(${x}) = 'blob' THEN lower(hex(${x})) END AS s${i}, ` +
        `CASE WHEN typeof(${x}) = 'real' THEN ${x} END AS r${i}`
      );
    })
    .join(", ");
  const order = orderBy ?? (pkColumns(cols).length > 0 ? pkColumns(cols) : cols).map((c) => c.name);
  const rows = b.all(db, `SELECT ${select} FROM ${q(table)} ORDER BY ${order.map(q).join(", ")}`);
  return rows.map((r) =>
    cols.map((_, i): Cell => {
      const t = r[`t${i}`];
      const s = r[`s${i}`];
      switch (t) {
        case "null":
          return { t: "n" };
        case "integer":
          return { t: "i", v: BigInt(String(s)) };
        case "real":
          return { t: "r", v: Number(r[`r${i}`]) };
        case "text":
          return { t: "t", v: String(s) };
        case "blob":
          return { t: "b", v: String(s ?? "") };
        default:
          throw new Error(`conformance: unexpected typeof ${String(t)} in ${table}`);
      }
    }),
  );
}

/** A table as text: a header naming the columns, then one line per row of exact typed cells. */
export function serializeTable(table: string, cols: string[], rows: Cell[][]): string {
  const lines = [`# ${table}(${cols.join(",")})`];
  for (const row of rows) lines.push(row.map(cellString).join("\t"));
  return lines.join("\n");
}

/** `SELECT * FROM table ORDER BY pk`, serialized exactly. */
export function dumpTable<Db>(b: ConformanceBinding<Db>, db: Db, table: string): string {
  const cols = columnsOf(b, db, table);
  return serializeTable(
    table,
    cols.map((c) => c.name),
    typedRows(b, db, table, cols),
  );
}

/** Every table of the database (user, patches and internal ones), for "nothing changed" checks. */
export function dumpDatabase<Db>(b: ConformanceBinding<Db>, db: Db): Record<string, string> {
  const tables = b
    .all(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)
    .map((r) => String(r.name));
  const out: Record<string, string> = {};
  for (const t of tables) {
    // The writer token names the replica that opened the database: random by design, not state.
    const cols = columnsOf(b, db, t).filter((c) => !(t === "_replic_state" && c.name === "writer"));
    out[t] = serializeTable(
      t,
      cols.map((c) => c.name),
      typedRows(b, db, t, cols, cols.map((c) => c.name)),
    );
  }
  out["(schema)"] = b
    .all(db, `SELECT type, name, sql FROM sqlite_master ORDER BY type, name`)
    .map((r) => `${String(r.type)} ${String(r.name)} ${String(r.sql)}`)
    .join("\n");
  return out;
}

export function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Stable digest of a serialized dump. */
export function dumpDigest(serialized: string): string {
  return sha256(serialized);
}

// ---------------------------------------------------------------------------------------------
// Decoded messages and the model of the merge rule (README, "Merge rule").

export interface Patch {
  table: string;
  peerId: number;
  seq: number;
  patchedAt: number;
  values: Record<string, SqlValue>;
}

/**
 * The patches of a decoded message, in the agreed shape
 * `{ kind: "patches", patches: { table, peerId, seq, patchedAt, values }[] }`; other kinds → [].
 * `shapeOk` reports whether the decoder returned exactly that shape (a dedicated test asserts it;
 * a wire-level shape with table/column indexes is converted so the other checks still run).
 */
export function patchesOf(decoded: unknown): { patches: Patch[]; shapeOk: boolean } {
  const m = decoded as { kind?: unknown; patches?: unknown[]; tables?: { name: string; columns: string[] }[] };
  if (!m || m.kind !== "patches" || !Array.isArray(m.patches)) return { patches: [], shapeOk: true };
  let shapeOk = true;
  const patches = m.patches.map((raw) => {
    const p = raw as Record<string, unknown>;
    if (typeof p.table === "string" && p.values && typeof p.values === "object" && !Array.isArray(p.values)) {
      return {
        table: p.table,
        peerId: p.peerId as number,
        seq: p.seq as number,
        patchedAt: p.patchedAt as number,
        values: p.values as Record<string, SqlValue>,
      };
    }
    shapeOk = false;
    // Wire-level shape: { table: index, columns: index[], values: SqlValue[] } + message tables.
    const t = m.tables?.[p.table as number];
    const values: Record<string, SqlValue> = {};
    (p.columns as number[]).forEach((ci, k) => {
      values[t!.columns[ci]!] = (p.values as SqlValue[])[k]!;
    });
    return { table: t!.name, peerId: p.peerId as number, seq: p.seq as number, patchedAt: p.patchedAt as number, values };
  });
  return { patches, shapeOk };
}

export function patchKey(p: { peerId: number; seq: number }): string {
  return `${p.peerId}.${p.seq}`;
}

export function comparePatches(a: Patch, b: Patch): number {
  if (a.patchedAt !== b.patchedAt) return a.patchedAt < b.patchedAt ? -1 : 1;
  if (a.peerId !== b.peerId) return a.peerId < b.peerId ? -1 : 1;
  return a.seq - b.seq;
}

/** Canonical text of a patch's content, to check that duplicates of (peerId, seq) agree. */
export function patchFingerprint(p: Patch, cols?: ColumnSpec[]): string {
  const aff = new Map((cols ?? []).map((c) => [c.name, c.affinity] as const));
  const vals = Object.keys(p.values)
    .sort()
    .map((k) => `${k}=${cellString(cellOf(aff.get(k) ?? "BLOB", p.values[k]!))}`);
  return `${p.table}|${p.peerId}|${p.seq}|${p.patchedAt}|${vals.join("|")}`;
}

/**
 * the merge rule (README, "Merge rule") in plain TypeScript: for each row and column, the value of the
 * highest-ordered (patchedAt, peerId, seq) patch that set it; a row exists once touched.
 * Returns the rows of `table` ordered by primary key, as exact typed cells.
 */
export function modelRows(table: string, cols: ColumnSpec[], patches: Iterable<Patch>): Cell[][] {
  const pk = pkColumns(cols);
  const rows = new Map<string, { key: Cell[]; cells: Map<string, { p: Patch; cell: Cell }> }>();
  for (const p of patches) {
    if (p.table !== table) continue;
    const key = pk.map((c) => cellOf(c.affinity, p.values[c.name] ?? null));
    const k = key.map(cellString).join("\u0000");
    let row = rows.get(k);
    if (!row) rows.set(k, (row = { key, cells: new Map() }));
    for (const c of cols) {
      if (c.pk > 0 || !(c.name in p.values)) continue;
      const cur = row.cells.get(c.name);
      if (!cur || comparePatches(p, cur.p) > 0) {
        row.cells.set(c.name, { p, cell: cellOf(c.affinity, p.values[c.name]!) });
      }
    }
  }
  const out = [...rows.values()].sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const d = compareCells(a.key[i]!, b.key[i]!);
      if (d !== 0) return d;
    }
    return 0;
  });
  return out.map((row) =>
    cols.map((c) => (c.pk > 0 ? row.key[c.pk - 1]! : (row.cells.get(c.name)?.cell ?? { t: "n" }))),
  );
}

export function modelDump(table: string, cols: ColumnSpec[], patches: Iterable<Patch>): string {
  return serializeTable(
    table,
    cols.map((c) => c.name),
    modelRows(table, cols, patches),
  );
}

// ---------------------------------------------------------------------------------------------
// Misc.

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

export function shuffle<T>(rand: () => number, xs: T[]): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** `xs` in random order, each at least once and some several times. */
export function shuffledWithDuplicates<T>(rand: () => number, xs: T[], dupRate = 0.3): T[] {
  const out = xs.slice();
  for (const x of xs) {
    while (rand() < dupRate) out.push(x);
  }
  return shuffle(rand, out);
}

export function parseToken(token: string): { peerId: number; seq: number } {
  const m = /^(\d+)\.(\d+)$/.exec(token);
  if (!m) throw new Error(`conformance: token ${JSON.stringify(token)} is not "<peerId>.<sequenceId>"`);
  return { peerId: Number(m[1]), seq: Number(m[2]) };
}

/** Records every message a replica sends on a link (copied: the sender may reuse buffers). */
export function capture(replica: ReplicaLike, linkPeerId: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  replica.addPeer(linkPeerId, (m) => {
    out.push(new Uint8Array(m));
  });
  return out;
}

export function envInt(name: string, fallback: number): number {
  const raw = typeof process !== "undefined" ? process.env[name] : undefined;
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`conformance: ${name}=${raw} is not a count`);
  return Math.floor(n);
}

/** A fake wall clock: `now()` returns `t`; tests move it. */
export class FakeClock {
  constructor(public t: number) {}
  readonly now = (): number => this.t;
}

export const SINK = 4_000_000_001; // peer id of the capturing link (never a replica's own id)
