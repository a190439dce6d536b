// The cases of a group too large to read at once (take-group.ts `maxGroupInMemory`, inbound.ts
// mergeStored): merged from _replic_incomplete a few stored runs at a time, in one transaction.
// Run at full size (test/large-groups.test.ts, the default of 10,000 parts in memory) and small
// (test/rooms/inbound-groups.test.ts, for the mutation run).
import { expect, it } from "vitest";
import { createReplica, decodeMessage } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { dumpOrders, ORDERS_DDL, ORDERS_MIGRATIONS } from "./group-sim.js";
import { metric, type ordersPeers } from "./orders-peers.js";

export interface LargeGroupSizes {
  /** Rows of the one upsertMany. */
  rows: number;
  /** Patches per message: the last message completes the group. */
  batch: number;
  /** The receivers' `maxGroupInMemory` (undefined: the default), below what waits. */
  inMemory: number | undefined;
  /** A row of a later window, refused by a trigger in the rollback case. */
  failAt: number;
}

export function largeGroupCases(s: LargeGroupSizes, { peer, open }: ReturnType<typeof ordersPeers>): void {
  const lines = Array.from({ length: s.rows }, (_, i) => ({ orderId: "o", n: i + 1, qty: i, epoch: 1 }));
  const messages = Math.ceil(s.rows / s.batch);
  const waiting = s.batch * (messages - 1);
  const opts = { maxBatchPatches: s.batch, ...(s.inMemory === undefined ? {} : { maxGroupInMemory: s.inMemory }) };
  const count = (p: { d: ReturnType<typeof testDriver> }) => Number(p.d.prepare("SELECT count(*) FROM order_lines").get([])![0]);

  function bigGroup(ddl = ORDERS_DDL) {
    const d = testDriver();
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0, maxBatchPatches: s.batch });
    open.push(r);
    r.migrate([{ up: ddl, down: ORDERS_MIGRATIONS[0]!.down }]);
    const sent: Uint8Array[] = [];
    r.addPeer(2, (m) => void sent.push(m));
    r.upsertMany("order_lines", ddl === ORDERS_DDL ? lines : lines.map((l) => ({ ...l, note: `n${l.n}` })));
    expect(sent).toHaveLength(messages);
    return { a: { r, d, dump: () => dumpOrders(d) }, sent };
  }

  it("shows every row with the last part, announces them all, relays what the message carried, and a neighbour fetches the rest", () => {
    const { a, sent } = bigGroup();
    const b = peer(2, opts);
    const c = peer(3, opts);
    b.r.addPeer(1, () => {});
    const toC: Uint8Array[] = [];
    b.r.addPeer(3, (m) => void toC.push(m));
    const merges: { patches: number; tables: string[]; keys: Record<string, unknown[]> }[] = [];
    b.r.on("merge", (e) => void merges.push(e));
    for (const m of sent.slice(0, -1)) b.r.receive(1, m);
    expect(count(b)).toBe(0);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: waiting });
    b.r.receive(1, sent[messages - 1]!);
    expect(count(b)).toBe(s.rows);
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
    expect(metric(b.r, "patches_applied_total")).toBe(s.rows);
    expect(metric(b.r, "groups_completed_total")).toBe(1);
    expect(merges).toHaveLength(1);
    expect(merges[0]!.patches).toBe(s.rows);
    expect(merges[0]!.keys.order_lines).toHaveLength(s.rows);
    expect(new Set(merges[0]!.keys.order_lines!.map((k) => JSON.stringify(k))).size).toBe(s.rows);
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toMatchObject({ contiguous: s.rows, highest: s.rows });
    // Relayed at once: only the patches the last message carried, named with their whole group.
    const relayed = toC.map((m) => decodeMessage(m)).filter((m) => m.kind === "patches");
    expect(relayed.reduce((n, m) => n + (m.kind === "patches" ? m.patches.length : 0), 0)).toBe(s.rows - waiting);
    for (const m of relayed) expect(m.kind === "patches" && m.groups).toEqual([{ peerId: 1, first: 1, last: s.rows }]);
    // The third replica waits with those, then asks b for the rest (gap repair) and completes.
    for (const m of toC.splice(0)) c.r.receive(2, m);
    expect(count(c)).toBe(0);
    b.r.removePeer(3);
    b.r.addPeer(3, (m) => c.r.receive(2, m));
    c.r.addPeer(2, (m) => b.r.receive(3, m));
    for (let i = 0; i < 10 && count(c) < s.rows; i++) {
      b.r.tick();
      c.r.tick();
      expect([0, s.rows]).toContain(count(c));
    }
    expect(c.dump()).toBe(a.dump());
  });

  it("the stored parts and the ones the last message brings merge in sequence order, each as the newest (no late-patch probe)", () => {
    const { a, sent } = bigGroup();
    const d = testDriver();
    let probes = 0;
    const counting = {
      ...d,
      prepare(sql: string, numeric?: readonly boolean[]) {
        const st = d.prepare(sql, numeric);
        if (!sql.includes(`"_sequenceId") > (?, ?, ?)`)) return st;
        return { ...st, get: (p: Parameters<typeof st.get>[0]) => (probes++, st.get(p)) };
      },
    };
    const b = createReplica(counting, { peerId: 2, heartbeatMs: 0, ...opts });
    open.push(b);
    b.migrate(ORDERS_MIGRATIONS);
    // The middle message last: its parts fall between stored runs on both sides.
    const middle = Math.floor(messages / 2);
    for (const [i, m] of sent.entries()) if (i !== middle) b.receive(1, m);
    b.receive(1, sent[middle]!);
    expect(dumpOrders(d)).toBe(a.dump());
    expect(probes).toBe(0);
  });

  it("a failure while merging from storage rolls the whole message back; the parts stay stored and the group completes later", () => {
    const { a, sent } = bigGroup();
    const b = peer(2, opts);
    b.r.addPeer(1, () => {});
    for (const m of sent.slice(0, -1)) b.r.receive(1, m);
    // A row of a later window is refused by SQLite.
    b.d.exec(`CREATE TRIGGER refuse_one BEFORE INSERT ON order_lines WHEN NEW.n = ${s.failAt} BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    expect(() => b.r.receive(1, sent[messages - 1]!)).toThrow(expect.objectContaining({ code: "SQLITE", message: "SQLite failed: refused" }));
    expect(count(b)).toBe(0);
    expect(Number(b.d.prepare("SELECT count(*) FROM order_lines_patches").get([])![0])).toBe(0);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: waiting });
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toMatchObject({ contiguous: 0 });
    // A stored part sent again is still known as waiting.
    const dup = metric(b.r, "patches_duplicate_total");
    b.r.receive(1, sent[0]!);
    expect(metric(b.r, "patches_duplicate_total")).toBe(dup + s.batch);
    b.d.exec("DROP TRIGGER refuse_one");
    b.r.receive(1, sent[messages - 1]!);
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
  });

  it("parts naming a column unknown here merge from storage too, each kept whole and counted", () => {
    // The sender's order_lines has one more column: every part has an alien form, stored alone.
    const wider = ORDERS_DDL.replace("qty INTEGER, epoch INTEGER, PRIMARY KEY", "qty INTEGER, epoch INTEGER, note TEXT, PRIMARY KEY").replace(
      "n INTEGER, qty INTEGER, epoch INTEGER,\n  _patchedAt",
      "n INTEGER, qty INTEGER, epoch INTEGER, note TEXT,\n  _patchedAt",
    );
    expect(wider.match(/note TEXT/g)).toHaveLength(2);
    const { sent } = bigGroup(wider);
    const b = peer(2, opts);
    for (const m of sent.slice(0, -1)) b.r.receive(1, m);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: waiting });
    b.r.receive(1, sent[messages - 1]!);
    expect(count(b)).toBe(s.rows);
    expect(metric(b.r, "patches_alien_kept_total")).toBe(s.rows);
    expect(Number(b.d.prepare("SELECT count(*) FROM _replic_alien").get([])![0])).toBe(s.rows);
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
  });
}
