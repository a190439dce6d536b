/**
 * Opening a replica on a database that already holds patches: the open never scans a patch table
 * or a replicated table (per origin one index probe above its persisted head, so its cost does not
 * grow with the patches held), and it restores what was held back and kept whole exactly.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, encodeMessage, timestampFromMs, type Replica, type SqliteDriver } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { ITEMS_DDL } from "./sim.js";

const MIGRATIONS = [{ up: ITEMS_DDL, down: "DROP TABLE items_patches; DROP TABLE items;" }];
const NOW = 1_760_000_000_000;
const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function replica(d: SqliteDriver, opts: Record<string, unknown> = {}): Replica {
  const r = createReplica(d, { peerId: 1, heartbeatMs: 0, now: () => NOW, ...opts });
  open.push(r);
  return r;
}

/** `count` patches of `origin`, seq from..from+count-1, in one message. */
function patches(origin: number, from: number, count: number, aheadMs = 0) {
  const list = [];
  for (let k = 0; k < count; k++) {
    const seq = from + k;
    list.push({ table: "items", peerId: origin, seq, patchedAt: timestampFromMs(NOW - 60_000 + aheadMs) + seq, values: { id: origin * 10_000 + seq, name: `r${seq}` } });
  }
  return encodeMessage({ kind: "patches", patches: list });
}

/** Every statement a replica runs while opening, with its query plan. */
function plansAtOpen(d: ReturnType<typeof testDriver>, opts: Record<string, unknown> = {}): { sql: string; plan: string }[] {
  const seen: { sql: string; params: readonly unknown[] }[] = [];
  const recording: SqliteDriver = {
    name: d.name,
    exec: (sql) => d.exec(sql),
    prepare(sql) {
      const st = d.prepare(sql);
      const note = (params: readonly unknown[]) => seen.push({ sql, params });
      return {
        run: (p) => (note(p), st.run(p)),
        get: (p) => (note(p), st.get(p)),
        all: (p) => (note(p), st.all(p)),
      };
    },
  };
  replica(recording, opts);
  return seen
    .filter((s) => /^\s*(SELECT|UPDATE|DELETE|INSERT)/i.test(s.sql))
    .map((s) => ({
      sql: s.sql,
      plan: (d.db.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).raw(true).all(...s.params) as unknown[][]).map((r) => String(r[3])).join("; "),
    }));
}

describe("opening a database that holds patches", () => {
  it("probes the patch tables through their (peer, sequence) index and never scans them or the rows", () => {
    const d = testDriver();
    const r = replica(d);
    r.migrate(MIGRATIONS);
    for (const origin of [7, 8, 9]) {
      r.addPeer(origin, () => {});
      r.receive(origin, patches(origin, 1, 300));
    }
    // A gap: origin 9's 302 arrives before 301.
    r.receive(9, patches(9, 302, 1));
    for (let i = 0; i < 50; i++) r.upsert("items", { id: i, name: "own" });
    r.close();

    const plans = plansAtOpen(d);
    const probes = plans.filter((p) => /items_patches/.test(p.sql));
    // The own head and every remote origin's sequences above its persisted contiguous head.
    expect(probes.length).toBeGreaterThanOrEqual(4);
    for (const p of plans) {
      expect(p.plan, p.sql).not.toMatch(/\bSCAN (items|items_patches)\b/);
    }
    for (const p of probes) expect(p.plan, p.sql).toMatch(/USING (COVERING )?INDEX/);
    const again = open[open.length - 1]!;
    const heads = new Map(again.status().origins.map((o) => [o.peerId, o]));
    expect(heads.get(7)).toMatchObject({ contiguous: 300, highest: 300 });
    expect(heads.get(9)).toMatchObject({ contiguous: 300, highest: 302 });
    expect(again.status().sequence).toBe(50);
  });

  it("restores the held-back patches and their count, and keeps the bound on them across a restart", () => {
    const d = testDriver();
    const r = replica(d, { maxClockDriftMs: 1000, maxHeldPatches: 3 });
    r.migrate(MIGRATIONS);
    r.addPeer(7, () => {});
    // Stamped an hour ahead: held, not merged.
    r.receive(7, patches(7, 1, 2, 3_600_000));
    expect(r.status().heldPatches).toBe(2);
    r.close();

    const again = replica(d, { maxClockDriftMs: 1000, maxHeldPatches: 3 });
    expect(again.status().heldPatches).toBe(2);
    again.addPeer(7, () => {});
    // Two more far-future patches: one fits under the bound of 3, the other is refused.
    again.receive(7, patches(7, 3, 2, 3_600_000));
    expect(again.status().heldPatches).toBe(3);
    expect(d.db.prepare("SELECT count(*) FROM _replic_held").pluck().get()).toBe(3);
    expect(again.metrics()).toMatch(/replic_patches_held 3\n/);
    expect(again.metrics()).toMatch(/replic_patches_held_refused_total 1\n/);
  });

  it("a database with no kept alien patches reads none; one with some still finds them after reopening", () => {
    const d = testDriver();
    const r = replica(d);
    r.migrate(MIGRATIONS);
    r.addPeer(7, () => {});
    // A table unknown here: kept whole, counted as held.
    r.receive(7, encodeMessage({ kind: "patches", patches: [{ table: "extras", peerId: 7, seq: 1, patchedAt: timestampFromMs(NOW - 1000), values: { id: 1, v: "x" } }] }));
    r.close();
    const again = replica(d);
    expect(again.status().alienPatches).toEqual([{ table: "extras", patches: 1, columns: { id: 1, v: 1 } }]);
    expect(again.status().origins.find((o) => o.peerId === 7)).toMatchObject({ contiguous: 1 });
  });
});
