import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { connect } from "nats";
import { openReplica } from "@replic/adapter-node";
import { decodeFrame, encodeFrame, joinNats, type NatsMembership } from "../src/index.js";
import { NatsServer } from "./nats-server.js";

const MIGRATIONS = [
  {
    up: `CREATE TABLE items (id TEXT PRIMARY KEY, v INTEGER, body TEXT);
         CREATE TABLE items_patches (id TEXT, v INTEGER, body TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL,
           _peerId INTEGER NOT NULL, _nulls TEXT, PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`,
    down: "DROP TABLE items_patches; DROP TABLE items;",
  },
];
let nats: NatsServer;
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(() => nats.down());
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function peer(peerId: number, heartbeatMs = 100) {
  const db = new Database(":memory:");
  const replica = openReplica(db, { peerId, heartbeatMs });
  replica.migrate(MIGRATIONS);
  cleanup.push(() => {
    replica.close();
    db.close();
  });
  return { replica, rows: () => JSON.stringify(db.prepare("SELECT * FROM items ORDER BY id").all()) };
}
async function join(p: { replica: Parameters<typeof joinNats>[0] }, cluster: string, silenceMs?: number): Promise<NatsMembership> {
  const m = await joinNats(p.replica, { servers: nats.url, cluster, logger: { warn: () => {} }, ...(silenceMs ? { silenceMs } : {}) });
  cleanup.push(() => m.close());
  return m;
}
async function until(cond: () => boolean, ms = 15_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const metric = (text: string, name: string) => Number(text.match(new RegExp(`^replic_nats_${name}\\{[^}]*\\} (\\d+)$`, "m"))?.[1]);

describe("frames", () => {
  it("round-trip and refuse malformed bytes", () => {
    expect(decodeFrame(encodeFrame({ type: "hello", from: 7 }))).toEqual({ type: "hello", from: 7 });
    expect(decodeFrame(encodeFrame({ type: "bye", from: 0xffffffff }))).toEqual({ type: "bye", from: 0xffffffff });
    expect(decodeFrame(encodeFrame({ type: "data", from: 1, bytes: Uint8Array.of(1, 2) }))).toEqual({ type: "data", from: 1, bytes: Uint8Array.of(1, 2) });
    for (const bad of [new Uint8Array(0), Uint8Array.of(1, 0, 0, 0), Uint8Array.of(9, 0, 0, 0, 1), Uint8Array.of(1, 0, 0, 0, 1, 5)]) {
      expect(() => decodeFrame(bad)).toThrow(expect.objectContaining({ code: "DECODE" }));
    }
  });
});

describe("joinNats", () => {
  it("members discover each other through the cluster subject and converge; relays are not re-published", async () => {
    const ps = [peer(401), peer(402), peer(403)];
    const ms: NatsMembership[] = [];
    for (const p of ps) ms.push(await join(p, "disc"));
    await until(() => ms.every((m) => m.members.length === 2), 10_000, "discovery");
    // Another cluster on the same server stays apart.
    const other = peer(404);
    const om = await join(other, "elsewhere");
    const tokens = ps.map((p, i) => p.replica.upsertMany("items", Array.from({ length: 200 }, (_, k) => ({ id: `p${i}-${k}`, v: k }))).at(-1)!);
    for (const p of ps) for (const t of tokens) await p.replica.waitFor(t, 10_000);
    expect(new Set(ps.map((p) => p.rows())).size).toBe(1);
    expect(om.members).toEqual([]);
    expect(other.rows()).toBe("[]");
    const text = ms[0].metrics();
    expect(metric(text, "members")).toBe(2);
    expect(metric(text, "published_cluster_total")).toBeGreaterThan(0);
    // Each member relays nothing: everyone heard the originals.
    expect(ms.reduce((s, m) => s + metric(m.metrics(), "relays_suppressed_total"), 0)).toBeGreaterThan(0);
    // Bye: the others unlink at once.
    await ms[2].close();
    await until(() => ms[0].members.length === 1 && ms[1].members.length === 1, 5000, "bye");
  });

  it("members that publish nothing (idle replicas send heartbeats only every few rounds) stay linked by direct hellos", async () => {
    // No heartbeat timer at all: after the first exchange the replicas send nothing.
    const a = peer(421, 0);
    const b = peer(422, 0);
    const ma = await join(a, "quiet", 800);
    const mb = await join(b, "quiet", 800);
    await until(() => ma.members.length === 1 && mb.members.length === 1, 10_000, "discovery");
    await new Promise((r) => setTimeout(r, 3000));
    expect([ma.members, mb.members]).toEqual([[422], [421]]);
    for (const m of [ma, mb]) expect(metric(m.metrics(), "keepalives_total")).toBeGreaterThanOrEqual(2);
    // A write still flows both ways over the links kept.
    const t = a.replica.upsert("items", { id: "q", v: 1 });
    await b.replica.waitFor(t, 5000);
  });

  it("garbage on the cluster subject is counted and changes nothing", async () => {
    const a = peer(411);
    const b = peer(412);
    const ma = await join(a, "garbage");
    const mb = await join(b, "garbage");
    await until(() => ma.members.length === 1 && mb.members.length === 1, 10_000, "discovery");
    const before = a.rows();
    const nc = await connect({ servers: nats.url });
    nc.publish("replic.garbage.all", Uint8Array.of(9, 9));
    nc.publish("replic.garbage.all", encodeFrame({ type: "data", from: 999, bytes: Uint8Array.of(0x72, 1, 1, 0, 0, 0, 0) }));
    await nc.flush();
    await nc.close();
    await until(() => metric(ma.metrics(), "bad_frames_total") === 2, 5000, "two bad frames");
    expect(a.rows()).toBe(before);
    const t = b.replica.upsert("items", { id: "ok", v: 1 });
    await a.replica.waitFor(t, 5000);
  });

  it("a NATS server restart while both write: clients reconnect and anti-entropy repairs the gap", async () => {
    const a = peer(421);
    const b = peer(422);
    const ma = await join(a, "restart");
    const mb = await join(b, "restart");
    await until(() => ma.members.length === 1 && mb.members.length === 1, 10_000, "discovery");
    let n = 0;
    const writer = setInterval(() => {
      n++;
      a.replica.upsert("items", { id: `a${n}`, v: n });
      b.replica.upsert("items", { id: `b${n}`, v: n });
    }, 10);
    await new Promise((r) => setTimeout(r, 300));
    await nats.restart(400);
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(writer);
    await until(() => metric(ma.metrics(), "reconnects_total") >= 1 && metric(mb.metrics(), "reconnects_total") >= 1, 10_000, "reconnects");
    await until(() => a.rows() === b.rows() && a.rows().includes(`"a${n}"`) && a.rows().includes(`"b${n}"`), 15_000, "repair");
  });

  it("refuses bad options with typed errors", async () => {
    const a = peer(431);
    await expect(joinNats(a.replica, { servers: nats.url, cluster: "a.b" })).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(joinNats(a.replica, { servers: nats.url, cluster: "" })).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(joinNats(a.replica, undefined as never)).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});
