/**
 * A fixed, seeded history whose final tables are known without running any replica: every
 * write happens at a distinct wall-clock second on a shared injected clock, and origins do
 * not hear from each other while writing, so the merge order (patchedAt, peerId, seq) is the
 * order of the script. `canonicalExpected()` applies the script sequentially in plain
 * TypeScript; `CANONICAL_DIGEST` pins that result, so every adapter must produce the very same
 * bytes (transitively: bun:sqlite, better-sqlite3 and WASM all equal one constant).
 */
import type { SqlValue } from "./types.js";
import { affinityOf, dumpDigest, modelDump, prng, randInt, type ColumnSpec, type Patch } from "./util.js";

export const CANONICAL_PEERS = [7, 2147483648, 4294967295] as const;
export const CANONICAL_T0 = 1_717_171_717_000;
export const CANONICAL_SEED = 20240601;

const DOCS_COLUMNS: [string, string, number][] = [
  ["id", "TEXT", 1],
  ["n", "INTEGER", 0],
  ["r", "REAL", 0],
  ["t", "TEXT", 0],
  ["b", "BLOB", 0],
  ["deletedAt", "INTEGER", 0],
];
const PAIRS_COLUMNS: [string, string, number][] = [
  ["a", "TEXT", 1],
  ["k", "INTEGER", 2],
  ["v", "TEXT", 0],
  ["w", "REAL", 0],
  ["deletedAt", "INTEGER", 0],
];

export const CANONICAL_TABLES: Record<string, ColumnSpec[]> = {
  docs: DOCS_COLUMNS.map(([name, type, pk]) => ({ name, type, pk, affinity: affinityOf(type) })),
  pairs: PAIRS_COLUMNS.map(([name, type, pk]) => ({ name, type, pk, affinity: affinityOf(type) })),
};

export const CANONICAL_MIGRATIONS = [
  {
    up:
      `CREATE TABLE docs (id TEXT PRIMARY KEY, n INTEGER, r REAL, t TEXT, b BLOB, deletedAt INTEGER);\n` +
      `CREATE TABLE docs_patches (id TEXT, n INTEGER, r REAL, t TEXT, b BLOB, deletedAt INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE docs_patches; DROP TABLE docs;`,
  },
  {
    up:
      `CREATE TABLE pairs (a TEXT NOT NULL, k INTEGER NOT NULL, v TEXT, w REAL, deletedAt INTEGER, PRIMARY KEY (a, k));\n` +
      `CREATE TABLE pairs_patches (a TEXT, k INTEGER, v TEXT, w REAL, deletedAt INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE pairs_patches; DROP TABLE pairs;`,
  },
];

export interface CanonicalWrite {
  table: "docs" | "pairs";
  row: Record<string, SqlValue>;
}

export interface CanonicalStep {
  /** Index into CANONICAL_PEERS. */
  origin: number;
  /** Wall clock (ms) of every origin during this step. */
  at: number;
  /** Several writes inside one replica.transaction(), else one upsert each. */
  tx: boolean;
  writes: CanonicalWrite[];
}

const INTS: (number | bigint)[] = [0, -1, 1, 42, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n];
const REALS = [0.1, -2.5, 1 / 3, 3, 1e-300, 5e-324, 1.7976931348623157e308, -0, 123456.789, 2 ** 60];
const TEXTS = ["", "hello", "héllo wörld", "日本語", "emoji 😀👍🏽", "tab\there\nnewline", `quote ' and "`, "x".repeat(300)];

function blobs(rand: () => number): Uint8Array[] {
  const big = new Uint8Array(64);
  for (let i = 0; i < big.length; i++) big[i] = randInt(rand, 0, 255);
  return [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([0, 255, 1, 254]), big];
}

/** The fixed history: 3 origins, 60 steps, both tables, transactions, NULLs, deletes, restores. */
export function canonicalHistory(): CanonicalStep[] {
  const rand = prng(CANONICAL_SEED);
  const pick = <T>(xs: readonly T[]): T => xs[randInt(rand, 0, xs.length - 1)]!;
  const B = blobs(rand);
  const steps: CanonicalStep[] = [];
  for (let s = 0; s < 60; s++) {
    const at = CANONICAL_T0 + s * 1000;
    const tx = rand() < 0.3;
    const count = tx ? randInt(rand, 2, 4) : 1;
    const writes: CanonicalWrite[] = [];
    for (let w = 0; w < count; w++) {
      if (rand() < 0.65) {
        const row: Record<string, SqlValue> = { id: `doc-${randInt(rand, 0, 5)}` };
        const set = (col: string, gen: () => SqlValue) => {
          const x = rand();
          if (x < 0.45) return; // absent
          row[col] = x < 0.55 ? null : gen();
        };
        set("n", () => pick(INTS));
        set("r", () => pick(REALS));
        set("t", () => pick(TEXTS));
        set("b", () => pick(B));
        if (rand() < 0.15) row.deletedAt = at; // delete
        else if (rand() < 0.15) row.deletedAt = null; // restore
        writes.push({ table: "docs", row });
      } else {
        const row: Record<string, SqlValue> = { a: pick(["alpha", "beta", "Gamma"]), k: randInt(rand, -1, 2) };
        if (rand() < 0.6) row.v = rand() < 0.2 ? null : pick(TEXTS);
        if (rand() < 0.6) row.w = rand() < 0.2 ? null : pick(REALS);
        if (rand() < 0.1) row.deletedAt = rand() < 0.5 ? at : null;
        writes.push({ table: "pairs", row });
      }
    }
    steps.push({ origin: randInt(rand, 0, CANONICAL_PEERS.length - 1), at, tx, writes });
  }
  return steps;
}

/**
 * The expected tables, computed without any replica: the script applied in order. Uses the
 * same serialization as the dumps (`dumpTable`): exact typed cells, rows ordered by key.
 */
export function canonicalExpected(): string {
  const patches: Patch[] = [];
  let seq = 0;
  for (const step of canonicalHistory()) {
    for (const w of step.writes) {
      seq++;
      patches.push({ table: w.table, peerId: 0, seq, patchedAt: step.at, values: w.row });
    }
  }
  return Object.entries(CANONICAL_TABLES)
    .map(([table, cols]) => modelDump(table, cols, patches))
    .join("\n");
}

/** sha256 of canonicalExpected(): the one digest every adapter's dump must have. */
export const CANONICAL_DIGEST = "a9b5201c16d07b8653e63018bb2d89a122659fad98f912b6288c0997d03ee254";

export { dumpDigest };
