/**
 * Property: for random histories with random migration points (forward and back, on any peer,
 * at any time), once every peer reaches the last version the tables equal those of a cluster
 * that had the final schema from the start and saw the same writes at the same times.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createReplica, type Replica, type SqlValue } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { versionedMigrations } from "./versions.js";

const VERSIONS = versionedMigrations(false);
const RUNS = Number(process.env.REPLIC_UPGRADE_PROPERTY_RUNS ?? 30);

type Op =
  | { kind: "write"; peer: number; table: "items" | "extras"; id: number; name: string | null | undefined; price: number | null | undefined }
  | { kind: "migrate"; peer: number; version: number }
  | { kind: "sync" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant("write" as const),
    peer: fc.integer({ min: 0, max: 2 }),
    table: fc.constantFrom("items" as const, "extras" as const),
    id: fc.integer({ min: 0, max: 3 }),
    name: fc.option(fc.constantFrom("a", "b", null), { nil: undefined }),
    price: fc.option(fc.constantFrom(1.5, -2, null), { nil: undefined }),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("migrate" as const), peer: fc.integer({ min: 0, max: 2 }), version: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("sync" as const) }) },
);

/** Three peers in a line whose messages wait in a queue until synced. */
class Cluster {
  readonly replicas: Replica[];
  readonly dbs: ReturnType<typeof testDriver>[];
  readonly version = [0, 0, 0];
  private q: [number, number, Uint8Array][] = [];

  constructor(clock: () => number, versions: number[]) {
    this.dbs = [0, 1, 2].map(() => testDriver());
    this.replicas = this.dbs.map((d, i) => createReplica(d, { peerId: i + 1, heartbeatMs: 0, now: clock }));
    versions.forEach((v, i) => this.migrate(i, v));
    for (const [a, b] of [[0, 1], [1, 2]] as const) {
      this.replicas[a]!.addPeer(b + 1, (m) => this.q.push([b, a + 1, m]));
      this.replicas[b]!.addPeer(a + 1, (m) => this.q.push([a, b + 1, m]));
    }
  }

  migrate(peer: number, version: number): void {
    this.replicas[peer]!.migrate(VERSIONS.slice(0, version));
    this.version[peer] = version;
  }

  sync(rounds = 3): void {
    for (let i = 0; i <= rounds; i++) {
      while (this.q.length > 0) {
        const [to, from, m] = this.q.shift()!;
        this.replicas[to]!.receive(from, m);
      }
      if (i < rounds) for (const r of this.replicas) r.tick();
    }
  }

  dump(peer: number): string {
    const db = this.dbs[peer]!.db;
    return (
      JSON.stringify(db.prepare("SELECT id, name, qty, price, deletedAt FROM items ORDER BY id").raw(true).all()) +
      JSON.stringify(db.prepare("SELECT id, v FROM extras ORDER BY id").raw(true).all())
    );
  }

  close(): void {
    for (const r of this.replicas) r.close();
    for (const d of this.dbs) d.db.close();
  }
}

describe("rolling upgrades: property", () => {
  it(`random histories with random migration points end as with the final schema from the start (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }), fc.array(opArb, { maxLength: 40 }), (start, ops) => {
        let now = 1_760_000_000_000;
        const clock = () => now;
        const mixed = new Cluster(clock, start);
        const final = new Cluster(clock, [3, 3, 3]);
        try {
          for (const op of ops) {
            now += 1; // one write per millisecond: both clusters stamp it alike
            if (op.kind === "migrate") mixed.migrate(op.peer, op.version);
            else if (op.kind === "sync") {
              mixed.sync();
              final.sync();
            } else {
              const v = mixed.version[op.peer]!;
              if (op.table === "extras" && v < 3) continue;
              const row: Record<string, SqlValue> =
                op.table === "extras" ? { id: op.id, v: op.name ?? null } : { id: op.id, ...(op.name !== undefined && { name: op.name }) };
              if (op.table === "items" && v >= 2 && op.price !== undefined) row.price = op.price;
              mixed.replicas[op.peer]!.upsert(op.table, row);
              final.replicas[op.peer]!.upsert(op.table, row);
            }
          }
          now += 1;
          for (let i = 0; i < 3; i++) mixed.migrate(i, 3);
          mixed.sync(5);
          final.sync(5);
          const want = final.dump(0);
          for (let i = 0; i < 3; i++) {
            expect(mixed.dump(i)).toBe(want);
            expect(final.dump(i)).toBe(want);
            expect(mixed.replicas[i]!.status().alienPatches).toEqual([]);
          }
        } finally {
          mixed.close();
          final.close();
        }
      }),
      { numRuns: RUNS },
    );
  }, 300_000);
});
