// A group too large to read at once (src/take-group.ts GROUP_WINDOW, src/inbound.ts
// mergeStored): merged from _replic_incomplete a few stored runs at a time, in one transaction.
// 24,000 rows each: seconds, so outside the mutation run's room tests (test/rooms/).
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, decodeMessage, type Replica } from "../src/index.js";
import { testDriver } from "./helpers.js";
import { dumpOrders, ORDERS_MIGRATIONS } from "./group-sim.js";

const open: Replica[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function peer(id: number, opts: Record<string, unknown> = {}) {
  const d = testDriver();
  const r = createReplica(d, { peerId: id, heartbeatMs: 0, ...opts });
  r.migrate(ORDERS_MIGRATIONS);
  open.push(r);
  return { r, d, dump: () => dumpOrders(d) };
}

function metric(r: Replica, name: string): number {
  return Number(new RegExp(`^replic_${name} (\\d+)$`, "m").exec(r.metrics())?.[1] ?? NaN);
}

// 24,000 rows through three replicas: seconds on a loaded machine.
describe("inbound: a group larger than a window merges from storage", { timeout: 60_000 }, () => {
  // Above GROUP_WINDOW (10,000) parts stored: 20,000 wait, the fifth message of 4,000 completes it.
  const ROWS = 24_000;
  const lines = Array.from({ length: ROWS }, (_, i) => ({ orderId: "o", n: i + 1, qty: i, epoch: 1 }));
  const count = (p: ReturnType<typeof peer>) => Number(p.d.prepare("SELECT count(*) FROM order_lines").get([])![0]);

  function bigGroup() {
    const a = peer(1, { maxBatchPatches: 5000 });
    const sent: Uint8Array[] = [];
    a.r.addPeer(2, (m) => void sent.push(m));
    a.r.upsertMany("order_lines", lines);
    expect(sent).toHaveLength(5);
    return { a, sent };
  }

  it("shows every row with the last part, announces them all, relays what the message carried, and a neighbour fetches the rest", () => {
    const { a, sent } = bigGroup();
    const b = peer(2, { maxBatchPatches: 5000 });
    const c = peer(3, { maxBatchPatches: 5000 });
    b.r.addPeer(1, () => {});
    const toC: Uint8Array[] = [];
    b.r.addPeer(3, (m) => void toC.push(m));
    const merges: { patches: number; tables: string[]; keys: Record<string, unknown[]> }[] = [];
    b.r.on("merge", (e) => void merges.push(e));
    for (const m of sent.slice(0, 4)) b.r.receive(1, m);
    expect(count(b)).toBe(0);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: 20_000 });
    b.r.receive(1, sent[4]!);
    expect(count(b)).toBe(ROWS);
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
    expect(metric(b.r, "patches_applied_total")).toBe(ROWS);
    expect(metric(b.r, "groups_completed_total")).toBe(1);
    expect(merges).toHaveLength(1);
    expect(merges[0]!.patches).toBe(ROWS);
    expect(merges[0]!.keys.order_lines).toHaveLength(ROWS);
    expect(new Set(merges[0]!.keys.order_lines!.map((k) => JSON.stringify(k))).size).toBe(ROWS);
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toMatchObject({ contiguous: ROWS, highest: ROWS });
    // Relayed at once: only the 4,000 patches the last message carried, named with their whole group.
    const relayed = toC.map((m) => decodeMessage(m)).filter((m) => m.kind === "patches");
    expect(relayed.reduce((n, m) => n + (m.kind === "patches" ? m.patches.length : 0), 0)).toBe(4000);
    for (const m of relayed) expect(m.kind === "patches" && m.groups).toEqual([{ peerId: 1, first: 1, last: ROWS }]);
    // The third replica waits with those, then asks b for the rest (gap repair) and completes.
    for (const m of toC.splice(0)) c.r.receive(2, m);
    expect(count(c)).toBe(0);
    b.r.removePeer(3);
    b.r.addPeer(3, (m) => c.r.receive(2, m));
    c.r.addPeer(2, (m) => b.r.receive(3, m));
    for (let i = 0; i < 10 && count(c) < ROWS; i++) {
      b.r.tick();
      c.r.tick();
      expect([0, ROWS]).toContain(count(c));
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
    const b = createReplica(counting, { peerId: 2, heartbeatMs: 0 });
    open.push(b);
    b.migrate(ORDERS_MIGRATIONS);
    // The middle message last: its parts fall between stored runs on both sides.
    for (const i of [0, 1, 3, 4]) b.receive(1, sent[i]!);
    b.receive(1, sent[2]!);
    expect(dumpOrders(d)).toBe(a.dump());
    expect(probes).toBe(0);
  });

  it("a failure while merging from storage rolls the whole message back; the parts stay stored and the group completes later", () => {
    const { a, sent } = bigGroup();
    const b = peer(2);
    b.r.addPeer(1, () => {});
    for (const m of sent.slice(0, 4)) b.r.receive(1, m);
    // A row of the second window is refused by SQLite.
    b.d.exec("CREATE TRIGGER no_15000 BEFORE INSERT ON order_lines WHEN NEW.n = 15000 BEGIN SELECT RAISE(ABORT, 'refused'); END");
    expect(() => b.r.receive(1, sent[4]!)).toThrow(expect.objectContaining({ code: "SQLITE", message: "SQLite failed: refused" }));
    expect(count(b)).toBe(0);
    expect(Number(b.d.prepare("SELECT count(*) FROM order_lines_patches").get([])![0])).toBe(0);
    expect(b.r.status().incompleteGroups).toMatchObject({ count: 1, patches: 20_000 });
    expect(b.r.status().origins.find((o) => o.peerId === 1)).toMatchObject({ contiguous: 0 });
    // A stored part sent again is still known as waiting.
    const dup = metric(b.r, "patches_duplicate_total");
    b.r.receive(1, sent[0]!);
    expect(metric(b.r, "patches_duplicate_total")).toBe(dup + 5000);
    b.d.exec("DROP TRIGGER no_15000");
    b.r.receive(1, sent[4]!);
    expect(b.dump()).toBe(a.dump());
    expect(b.r.status().incompleteGroups).toEqual({ count: 0, patches: 0, oldestAgeMs: 0 });
  });
});
