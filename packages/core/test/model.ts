// The merge rule of the merge rule (README, "Merge rule") as plain TypeScript: the oracle tests compare against.
/** A value SQLite can store (the core's SqlValue). */
export type SqlValue = null | number | bigint | string | Uint8Array;

export interface ModelPatch {
  peerId: number;
  seq: number;
  patchedAt: number;
  values: Record<string, SqlValue>; // only the columns set, primary key included
}

function later(a: ModelPatch, b: ModelPatch): boolean {
  if (a.patchedAt !== b.patchedAt) return a.patchedAt > b.patchedAt;
  if (a.peerId !== b.peerId) return a.peerId > b.peerId;
  return a.seq > b.seq;
}

/** Rows keyed by primary key, each holding, per column, the value of the highest patch that set it. */
export function modelTable(patches: Iterable<ModelPatch>, pk: string, columns: string[]): Record<string, SqlValue>[] {
  const rows = new Map<SqlValue, { values: Record<string, SqlValue>; winners: Record<string, ModelPatch> }>();
  const seen = new Set<string>();
  for (const p of patches) {
    const id = `${p.peerId}.${p.seq}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const key = p.values[pk]!;
    let row = rows.get(key);
    if (!row) {
      row = { values: Object.fromEntries(columns.map((c) => [c, null])), winners: {} };
      row.values[pk] = key;
      rows.set(key, row);
    }
    for (const [col, v] of Object.entries(p.values)) {
      if (col === pk) continue;
      const w = row.winners[col];
      if (!w || later(p, w)) {
        row.winners[col] = p;
        row.values[col] = v;
      }
    }
  }
  return [...rows.entries()].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)).map(([, r]) => r.values);
}
