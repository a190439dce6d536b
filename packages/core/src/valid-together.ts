/**
 * Rows valid together (visibility.ts): rows whose foreign keys form a cycle (A references B and
 * B references A, across tables or within one) each wait for the other to be shown, so a
 * row-by-row settle would park them all as `parent-missing` forever. Among parked
 * `parent-missing` rows (each passed the NOT NULL, CHECK and unique steps), a set is valid
 * together when every parent each of its rows references is shown or in the set. The largest
 * such set reachable from the seeds is found by dropping, until none is left to drop, every row
 * whose parent is neither shown nor a row still in the set; a cycle still waiting for a parent
 * outside it is dropped whole. This depends on the candidates alone, not on arrival order.
 */
import type { SqlValue } from "./driver.js";
import { keyFromText, keyText, type ParkedRows } from "./parked-rows.js";
import type { Candidate } from "./row-candidate.js";
import type { TableRules } from "./table-rules.js";

export interface Member {
  r: TableRules;
  /** The key as text (parked-rows.ts). */
  k: string;
  key: SqlValue[];
  cand: Candidate;
}

interface Node extends Member {
  /** Parked rows this one needs shown with it (their ids). */
  needs: string[];
  dropped: boolean;
}

export function validTogether(
  seeds: Iterable<readonly [TableRules, string, SqlValue[]]>,
  parked: ParkedRows,
  rulesOf: (table: string) => TableRules | undefined,
  candidate: (r: TableRules, key: SqlValue[]) => Candidate | undefined,
): Member[] {
  const nodes = new Map<string, Node>();
  // Per parent table and referenced columns: its parked `parent-missing` rows by the values there.
  const pools = new Map<string, Map<string, [string, SqlValue[]]>>();
  const poolOf = (pr: TableRules, to: readonly string[]) => {
    const id = `${pr.name}\u0000${to.join("\u0000")}`;
    let pool = pools.get(id);
    if (!pool) {
      pools.set(id, (pool = new Map()));
      for (const k of parked.keys(pr.name, "parent-missing")) {
        const key = keyFromText(k);
        const pc = candidate(pr, key)!;
        pool.set(keyText(to.map((n) => pc.values[pr.t.schema.columnIndex.get(n)!]!)), [k, key]);
      }
    }
    return pool;
  };
  const todo = [...seeds];
  for (let next = todo.pop(); next; next = todo.pop()) {
    const [r, k, key] = next;
    const id = `${r.name}\u0000${k}`;
    if (nodes.has(id)) continue;
    const cand = candidate(r, key)!; // a parked row keeps its patches
    const node: Node = { r, k, key, cand, needs: [], dropped: false };
    nodes.set(id, node);
    r.c.foreignKeys.forEach((fk, i) => {
      const vals = fk.from.map((c) => cand.values[c]!);
      if (vals.some((x) => x === null)) return; // references nothing
      if (r.parents[i]?.get(vals) !== undefined) return; // the parent is shown
      // Both sides are read by one driver from the patch tables, so equal values have equal text.
      // A row referencing itself finds itself there.
      const pr = rulesOf(fk.parent);
      const hit = pr && poolOf(pr, fk.to).get(keyText(vals));
      if (!hit) {
        node.dropped = true;
        return;
      }
      node.needs.push(`${pr.name}\u0000${hit[0]}`);
      todo.push([pr, hit[0], hit[1]]);
    });
  }
  for (let dropping = true; dropping; ) {
    dropping = false;
    for (const n of nodes.values()) {
      if (n.dropped || n.needs.every((p) => !nodes.get(p)!.dropped)) continue;
      n.dropped = true;
      dropping = true;
    }
  }
  return [...nodes.values()].filter((n) => !n.dropped).map(({ r, k, key, cand }) => ({ r, k, key, cand }));
}
