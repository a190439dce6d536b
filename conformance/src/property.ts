import fc from "fast-check";
import { describe, it } from "vitest";
import { Harness, ITEMS } from "./harness.js";
import { ABSENT, checkHistoryIn, COLUMNS, historyArb, type History, type HistoryReplica, type HistoryWorld, type Op } from "./history.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import { columnsOf, dumpTable, envInt, SINK } from "./util.js";


export function propertySuite<Db>(b: ConformanceBinding<Db>): void {
  const runs = envInt("REPLIC_PROPERTY_RUNS", 200);

  describe("property: random histories converge to the model of the merge rule", () => {
    it(
      `origins and targets equal the model, a third of the writes plain SQL on a captured table (${runs} runs)`,
      async () => {
        await fc.assert(
          fc.asyncProperty(historyArb, async (hist) => {
            // Yield to the event loop between runs: a long synchronous block starves the test runner.
            await new Promise((resolve) => setTimeout(resolve, 0));
            const h = new Harness(b);
            try {
              await checkHistory(b, h, hist);
            } finally {
              h.closeAll();
            }
          }),
          { numRuns: runs },
        );
      },
      600_000,
    );
  });
}

/** The world of `checkHistoryIn` on replicas of this process, opened through `h`. */
export function localWorld<Db>(b: ConformanceBinding<Db>, h: Harness<Db>): HistoryWorld {
  const replica = (db: Db, r: ReplicaLike, links: (r: ReplicaLike) => void, reopen: () => ReplicaLike, capture: Uint8Array[]): HistoryReplica => {
    links(r);
    return {
      async write(rows, tx) {
        return tx ? r.transaction(() => rows.map((row) => r.upsert("items", row))) : rows.map((row) => r.upsert("items", row));
      },
      async writeSql(ops, tx) {
        return writeSql(b, db, r, ops, tx);
      },
      async receive(from, m) {
        r.receive(from, m);
      },
      async tick() {
        r.tick();
      },
      async restart() {
        r.close();
        r = reopen();
        links(r);
        return r.peerId;
      },
      async drain() {
        return capture.splice(0);
      },
      async dump() {
        return dumpTable(b, db, "items");
      },
      async columns() {
        return columnsOf(b, db, "items");
      },
    };
  };
  return {
    async origin(peerId, others, now, maxClockDriftMs) {
      const { db, r } = h.open(ITEMS, { peerId, now, maxClockDriftMs, capture: ["items"] });
      const capture: Uint8Array[] = [];
      const links = (x: ReplicaLike) => {
        x.addPeer(SINK, (m) => capture.push(new Uint8Array(m)));
        for (const id of others) x.addPeer(id, () => {});
      };
      return replica(db, r, links, () => h.replica(db, { now, maxClockDriftMs, capture: ["items"] }), capture);
    },
    async target(peerId, origins, now, maxClockDriftMs) {
      const { db, r } = h.open(ITEMS, { peerId, now, maxClockDriftMs });
      const links = (x: ReplicaLike) => origins.forEach((id) => x.addPeer(id, () => {}));
      return replica(db, r, links, () => h.replica(db, { now, maxClockDriftMs }), []);
    },
    decode: (bytes) => b.adapter.decodeMessage(bytes),
  };
}

/** `checkHistoryIn` on fresh databases of binding `b`. */
export function checkHistory<Db>(b: ConformanceBinding<Db>, h: Harness<Db>, hist: History): Promise<{ crossPeerTies: number }> {
  return checkHistoryIn(localWorld(b, h), hist);
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");

/** A SQL literal of exactly `v` (text and blobs as bytes, int64 through a cast). */
function literal(v: unknown): string {
  if (v === null) return "NULL";
  if (typeof v === "bigint") return `CAST('${v}' AS INTEGER)`;
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `CAST(x'${hex(new TextEncoder().encode(v))}' AS TEXT)`;
  if (v instanceof Uint8Array) return `x'${hex(v)}'`;
  throw new Error(`no literal for ${String(v)}`);
}

/**
 * Plain SQL writes on a captured table: `INSERT … ON CONFLICT(id) DO UPDATE` per op (in one
 * transaction when `tx`), then flush(). Returns the patches expected, in drain order: a new row
 * is a patch of every column, an existing one of the columns set; one patch per row per flush.
 */
function writeSql<Db>(b: ConformanceBinding<Db>, db: Db, r: ReplicaLike, ops: Op[], tx: boolean): { before: number; rows: Record<string, unknown>[] }[] {
  const groups: Op[][] = tx ? [ops] : ops.map((op) => [op]);
  const out: { before: number; rows: Record<string, unknown>[] }[] = [];
  for (const group of groups) {
    const rows = new Map<number, Record<string, unknown>>();
    if (tx) b.exec(db, "BEGIN");
    for (const op of group) {
      const present = COLUMNS.filter((c) => op[c] !== ABSENT);
      const exists = b.all(db, `SELECT id FROM items WHERE id = ${op.key}`).length > 0;
      const set = present.length > 0 ? `DO UPDATE SET ${present.map((c) => `${c} = excluded.${c}`).join(", ")}` : "DO NOTHING";
      b.exec(db, `INSERT INTO items (id${present.map((c) => `, ${c}`).join("")}) VALUES (${[op.key, ...present.map((c) => op[c])].map(literal).join(", ")}) ON CONFLICT(id) ${set}`);
      let row = rows.get(op.key);
      if (!exists) {
        row = { id: op.key };
        for (const c of COLUMNS) row[c] = op[c] === ABSENT ? null : op[c];
        rows.set(op.key, row);
      } else if (present.length > 0) {
        if (!row) rows.set(op.key, (row = { id: op.key }));
        for (const c of present) row[c] = op[c];
      }
    }
    if (tx) b.exec(db, "COMMIT");
    const before = (r.status() as { sequence: number }).sequence;
    const token = r.flush();
    const after = (r.status() as { sequence: number }).sequence;
    if (after !== before + rows.size) throw new Error(`flush() drained ${after - before} patches, expected ${rows.size}`);
    if (rows.size > 0 && token !== `${r.peerId}.${after}`) throw new Error(`flush() returned ${token}, expected ${r.peerId}.${after}`);
    out.push({ before, rows: [...rows.values()] });
  }
  return out;
}
