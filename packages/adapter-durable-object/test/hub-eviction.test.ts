// The hub object evicted (its isolate reset) and the runtime restarted between writes: no write is
// lost and the spoke's link comes back within a reconnect. A client with the wrong secret is
// refused without disturbing the linked spokes. The browser build of the client (global
// WebSocket, WebCrypto handshake) links too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { freePort } from "@replic/conformance/peer-process";
import { MIGRATIONS } from "@replic/conformance/replica-process";
import { openReplica, type Replica } from "@replic/adapter-node";
import { connectWebSocket, type WebSocketLink } from "@replic/transport-ws";
import { connectWebSocket as connectFromBrowser } from "@replic/transport-ws/browser";
import { createRequire } from "node:module";
import { bundleWorker, Workerd } from "./workerd";

const dir = mkdtempSync(join(tmpdir(), "replic-do-evict-"));
const secret = "evict-secret";
let w: Workerd;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  const script = await bundleWorker(join(dir, "build"));
  w = await Workerd.start({ script, persist: join(dir, "persist"), port: await freePort(), secret, heartbeatMs: 200 });
}, 60_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { warn: () => {} };

interface Spoke {
  replica: Replica;
  db: Database.Database;
  link: WebSocketLink;
  rows(): unknown[];
}

function spoke(name: string, peerId: number, key = secret, headers?: Record<string, string>): Spoke {
  const db = new Database(join(dir, `${name}.db`));
  const replica = openReplica(db, { peerId, heartbeatMs: 200, logger: quiet });
  replica.migrate(MIGRATIONS);
  const link = connectWebSocket(replica, w.wsUrl, { secret: key, headers, logger: quiet, reconnectBaseMs: 50, reconnectMaxMs: 400, pingIntervalMs: 1000, deadAfterMs: 4000 });
  const s = { replica, db, link, rows: () => db.prepare("SELECT id, v, body FROM items ORDER BY id").all() };
  closers.push(async () => {
    await link.close();
    replica.close();
    db.close();
  });
  return s;
}

async function hubRows(): Promise<{ id: string }[]> {
  return w.json<{ id: string }[]>("/rows");
}

/** Polls until the hub holds exactly the spoke's rows. */
async function converged(s: Spoke, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  const hash = (x: unknown) => createHash("sha256").update(JSON.stringify(x)).digest("hex");
  while (Date.now() < end) {
    try {
      if (hash(await hubRows()) === hash(s.rows())) return true;
    } catch {
      // the runtime is restarting
    }
    await sleep(200);
  }
  return false;
}

describe("Durable Object hub: eviction, restart, wrong secret", () => {
  it("writes made across an eviction of the object and a restart of the runtime are all on the hub", async () => {
    const a = spoke("a", 701);
    await a.link.linked();
    let n = 0;
    const write = (k: number) => {
      for (let i = 0; i < k; i++) a.replica.upsert("items", { id: `a-${++n}`, v: n, body: "a" });
    };
    write(20);
    expect(await converged(a)).toBe(true);

    // Eviction: the isolate is reset; the socket breaks or survives, either way the link returns.
    await w.fetch("/evict").catch(() => undefined);
    write(20); // written while the hub object is gone
    expect(await converged(a)).toBe(true);

    // Runtime restart (orderly), writes meanwhile, then more writes after.
    await w.stop();
    write(20);
    await w.restart();
    write(20);
    expect(await converged(a)).toBe(true);
    const ids = new Set((await hubRows()).map((r) => r.id));
    for (let k = 1; k <= n; k++) expect(ids.has(`a-${k}`), `a-${k}`).toBe(true);
    expect(a.link.connected).toBe(true);
  }, 120_000);

  it("a client with the wrong secret, or refused by the authenticate hook, gets nothing in; a linked spoke goes on replicating", async () => {
    const good = spoke("good", 711);
    await good.link.linked();
    const bad = spoke("bad", 712, "not-the-secret");
    bad.replica.upsert("items", { id: "bad-1", v: 1, body: "bad" });
    const denied = spoke("denied", 713, secret, { "x-test-deny": "1" }); // right secret, refused by the authenticate hook
    denied.replica.upsert("items", { id: "denied-1", v: 1, body: "denied" });
    await sleep(1500); // several refused handshakes
    expect(bad.link.connected).toBe(false);
    expect(denied.link.connected).toBe(false);
    good.replica.upsert("items", { id: "good-1", v: 1, body: "good" });
    expect(await converged(good)).toBe(true);
    const ids = (await hubRows()).map((r) => r.id);
    expect(ids).toContain("good-1");
    expect(ids).not.toContain("bad-1");
    expect(ids).not.toContain("denied-1");
    const metrics = await (await w.fetch("/replic/metrics")).text();
    expect(Number(/replic_hub_auth_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(good.link.connected).toBe(true);
  }, 60_000);

  it("the browser client (global WebSocket, WebCrypto proof) links and replicates both ways", async () => {
    // Node 20 has WebCrypto but no global WebSocket: the browser build gets ws's, as in transport-ws's own test.
    const { WebSocket } = createRequire(createRequire(import.meta.url).resolve("@replic/transport-ws"))("ws") as { WebSocket: unknown };
    const g = globalThis as { WebSocket?: unknown };
    const had = g.WebSocket;
    g.WebSocket = WebSocket;
    try {
      const db = new Database(":memory:");
      const replica = openReplica(db, { peerId: 721, heartbeatMs: 200, logger: quiet });
      replica.migrate(MIGRATIONS);
      const link = connectFromBrowser(replica, w.wsUrl, { secret, logger: quiet });
      closers.push(async () => {
        await link.close();
        replica.close();
        db.close();
      });
      await link.linked();
      replica.upsert("items", { id: "browser-1", v: 1, body: "browser" });
      const s = { replica, db, link, rows: () => db.prepare("SELECT id, v, body FROM items ORDER BY id").all() };
      expect(await converged(s)).toBe(true);
      const ids = (await hubRows()).map((r) => r.id);
      expect(ids).toContain("browser-1");
      expect(ids).toContain("good-1"); // written by another spoke earlier, received through the hub
    } finally {
      g.WebSocket = had;
    }
  }, 60_000);
});
