/**
 * Adopting an existing table: the rows already in `T` that no patch names yet (they were there
 * before `T_patches`, or written around replic) become patches of this replica, which peers
 * then receive like any write. Rows are taken in primary-key order, a bounded batch at a time;
 * each batch is one local transaction, hence one group: a receiver shows a batch whole or not
 * at all. A row that has a patch is skipped, so running it again adds nothing, and a run cut
 * short (a crash, an error) goes on where it stopped.
 */
import type { Catalog } from "./catalog.js";
import type { SqliteDriver, SqlValue } from "./driver.js";
import { ReplicError } from "./errors.js";
import type { LocalWriter } from "./local-writes.js";
import { quoteId } from "./schema.js";

export interface AdoptProgress {
  table: string;
  /** Rows adopted so far by this call. */
  adopted: number;
  /** Rows without a patch when the call started. */
  total: number;
}

export interface AdoptOptions {
  /** Rows per batch (one transaction and one group each); default 1000. */
  batchSize?: number;
  /** Called after each committed batch. */
  onProgress?: (progress: AdoptProgress) => void;
}

export const DEFAULT_ADOPT_BATCH = 1000;

export interface AdoptionRooms {
  driver: SqliteDriver;
  catalog: Catalog;
  local: LocalWriter;
  /** The largest group this replica writes (limits.maxGroupPatches). */
  maxGroupPatches: number;
}

/** Adopts the rows of `table` that have no patch; returns how many. */
export function adoptRows(r: AdoptionRooms, table: string, options: AdoptOptions = {}): number {
  const t = r.catalog.get(table);
  const { batchSize = DEFAULT_ADOPT_BATCH, onProgress } = options ?? {};
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > r.maxGroupPatches) {
    throw new ReplicError("INVALID_OPTION", `adopt(): batchSize must be an integer from 1 to ${r.maxGroupPatches} (limits.maxGroupPatches), got ${String(batchSize)}`);
  }
  if (onProgress !== undefined && typeof onProgress !== "function") throw new ReplicError("INVALID_OPTION", "adopt(): onProgress must be a function");
  const { schema } = t;
  const names = schema.columns.map((c) => c.name);
  const keys = schema.pkIndexes.map((i) => quoteId(names[i]!));
  const T = quoteId(schema.name);
  // A row "has a patch" when its key matches a patch row's (the row index of T_patches serves it).
  const unpatched = `NOT EXISTS (SELECT 1 FROM ${quoteId(schema.patchesName)} AS p WHERE ${keys.map((k) => `p.${k} = t.${k}`).join(" AND ")})`;
  const select = `SELECT ${names.map((n) => `t.${quoteId(n)}`).join(", ")} FROM ${T} AS t WHERE ${unpatched}`;
  const order = `ORDER BY ${keys.map((k) => `t.${k}`).join(", ")} LIMIT ?`;
  const first = r.driver.prepare(`${select} ${order}`);
  // Keyset paging: after the last key of the previous batch, in the same order.
  const next = r.driver.prepare(`${select} AND (${keys.map((k) => `t.${k}`).join(", ")}) > (${keys.map(() => "?").join(", ")}) ${order}`);
  const total = Number(r.driver.prepare(`SELECT count(*) FROM ${T} AS t WHERE ${unpatched}`).get([])![0]);
  let adopted = 0;
  let after: SqlValue[] | undefined;
  for (;;) {
    const n = r.local.transaction(() => {
      const rows = after === undefined ? first.all([batchSize]) : next.all([...after, batchSize]);
      if (rows.length === 0) return 0;
      const objects = rows.map((row) => {
        const o: Record<string, SqlValue> = {};
        for (let i = 0; i < names.length; i++) o[names[i]!] = row[i]!;
        return o;
      });
      r.local.upsertMany(schema.name, objects);
      const last = rows[rows.length - 1]!;
      after = schema.pkIndexes.map((i) => last[i]!);
      return rows.length;
    });
    if (n === 0) break;
    adopted += n;
    onProgress?.({ table: schema.name, adopted, total });
    if (n < batchSize) break;
  }
  return adopted;
}
