import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { Worker } from "node:worker_threads";
import { joinBroadcastChannel, linkInProcess } from "../src/index.js";

const MIGRATIONS = [
  {
    up: `CREATE TABLE items (id TEXT PRIMARY KEY, v INTEGER);
         CREATE TABLE items_patches (id TEXT, v INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL,
           _peerId INTEGER NOT NULL, _nulls TEXT, PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`,
    down: "DROP TABLE items_patches; DROP TABLE items;",
  },
];
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function peer(peerId: number) {
  const db = new Database(":memory:");
  const replica = openReplica(db, { peerId, heartbeatMs: 50 });
  replica.migrate(MIGRATIONS);
  cleanup.push(() => {
    replica.close();
    db.close();
  });
  return { replica, rows: () => JSON.stringify(db.prepare("SELECT * FROM items ORDER BY id").all()) };
}
async function until(cond: () => boolean, ms = 4_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${cond}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const quiet = { warn: () => {} };

describe("linkInProcess", () => {
  it("links two replicas both ways and converges even with 30% loss", async () => {
    const a = peer(1);
    const b = peer(2);
    const link = linkInProcess(a.replica, b.replica, { loss: 0.3, logger: quiet });
    cleanup.push(() => link.close());
    const tokens: string[] = [];
    for (let i = 0; i < 50; i++) tokens.push(a.replica.upsert("items", { id: `a${i}`, v: i }));
    for (let i = 0; i < 50; i++) b.replica.upsert("items", { id: `a${i % 7}`, v: -i });
    await b.replica.waitFor(tokens.at(-1)!, 10_000);
    await until(() => a.rows() === b.rows());
    await link.close();
    expect(a.replica.status().peers).toHaveLength(0);
  });

  it("refuses bad options with a typed error", () => {
    const a = peer(3);
    expect(() => linkInProcess(a.replica, a.replica)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(() => linkInProcess(a.replica, peer(4).replica, { loss: 1 })).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
  });
});

describe("joinBroadcastChannel", () => {
  it("members discover each other by hello, converge, and leave by bye; foreign posts are counted", async () => {
    const name = `replic-test-${process.pid}`;
    const ps = [peer(11), peer(12), peer(13)];
    const links = ps.map((p) => joinBroadcastChannel(p.replica, name, { logger: quiet }));
    cleanup.push(() => Promise.all(links.map((l) => l.close())));
    await until(() => links.every((l) => l.members.length === 2));
    const tokens = ps.map((p, i) => p.replica.upsert("items", { id: `p${i}`, v: i }));
    for (const p of ps) for (const t of tokens) await p.replica.waitFor(t, 5000);
    expect(new Set(ps.map((p) => p.rows())).size).toBe(1);
    // Someone else's posts on the same channel are refused and counted, nothing else happens.
    const before = links.map((l) => l.refused);
    const stranger = new BroadcastChannel(name);
    stranger.postMessage({ hello: "world" });
    stranger.postMessage({ t: "msg", from: 99, to: 11, bytes: new Uint8Array([1, 2, 3]) });
    await until(() => links[0].refused - before[0] === 2 && links[1].refused - before[1] === 1).catch((e) => { throw new Error(`${e.message} ${links.map((l) => l.refused)}`); });
    stranger.close();
    await links[2].close();
    await until(() => links[0].members.length === 1 && links[1].members.length === 1);
    // A member that vanished without bye (a killed tab) is dropped after silenceMs.
    const short = joinBroadcastChannel(peer(15).replica, name, { logger: quiet, silenceMs: 300 });
    cleanup.push(() => short.close());
    const ghost = new BroadcastChannel(name);
    ghost.postMessage({ t: "hello", from: 14, reply: false });
    await until(() => short.members.includes(14) && short.members.includes(11));
    ghost.close();
    await until(() => short.members.includes(11) && !short.members.includes(14));
  });

  it("links replicas in worker threads to the main thread", async () => {
    const name = `replic-workers-${process.pid}`;
    const main = peer(21);
    const link = joinBroadcastChannel(main.replica, name, { logger: quiet });
    cleanup.push(() => link.close());
    const workers = [22, 23].map(
      (peerId) => new Worker(new URL("./fixtures/worker-peer.mjs", import.meta.url), { workerData: { peerId, channel: name, migrations: MIGRATIONS } }),
    );
    cleanup.push(() => Promise.all(workers.map((w) => w.terminate())));
    const reply = <T>(w: Worker, key: string) => new Promise<T>((r) => w.once("message", (m) => r(m[key])));
    const rowsOf = (w: Worker) => {
      const p = reply<string>(w, "rows");
      w.postMessage("rows");
      return p;
    };
    const tokens = await Promise.all(workers.map((w) => reply<string>(w, "token")));
    main.replica.upsert("items", { id: "from-main", v: 21 });
    for (const t of tokens) await main.replica.waitFor(t, 10_000);
    await until(() => link.members.length === 2);
    // Each worker gets the other's row and main's through the channel.
    const end = Date.now() + 10_000;
    let rows: string[] = [];
    do {
      rows = [];
      for (const w of workers) rows.push(await rowsOf(w));
      if (rows.every((r) => r === main.rows())) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < end);
    expect(JSON.parse(main.rows())).toHaveLength(3);
    expect(rows).toEqual([main.rows(), main.rows()]);
  });
});
