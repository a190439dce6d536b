// Hibernation: with the alarm and the spoke's pings far apart, workerd evicts the idle hub object
// while its socket stays open. The next frame wakes a new instance, which re-links the socket from
// its attachment: both directions work again with no reconnect and no new handshake.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { freePort } from "@replic/conformance/peer-process";
import { MIGRATIONS } from "@replic/conformance/replica-process";
import { openReplica } from "@replic/adapter-node";
import { connectWebSocket } from "@replic/transport-ws";
import { bundleWorker, Workerd } from "./workerd";

const dir = mkdtempSync(join(tmpdir(), "replic-do-hibernate-"));
let w: Workerd | undefined;

afterAll(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Durable Object hub: hibernation", () => {
  it("an object woken after hibernation carries on the links it had, without a reconnect", async () => {
    const secret = "hibernate";
    w = await Workerd.start({ script: await bundleWorker(join(dir, "build")), persist: join(dir, "persist"), port: await freePort(), secret, heartbeatMs: 120_000 });
    const db = new Database(":memory:");
    const replica = openReplica(db, { peerId: 801, heartbeatMs: 0, logger: { warn: () => {} } });
    replica.migrate(MIGRATIONS);
    const link = connectWebSocket(replica, w.wsUrl, { secret, pingIntervalMs: 120_000, logger: { warn: () => {} } });
    await link.linked();
    replica.upsert("items", { id: "spoke-1", v: 1 });
    await sleep(500);
    const before = (await w.json<{ instance: string }>("/instance")).instance;
    expect((await w.json<{ id: string }[]>("/rows")).map((r) => r.id)).toEqual(["spoke-1"]);

    await sleep(24_000); // idle: no frame, no alarm due; workerd hibernates the object

    replica.upsert("items", { id: "spoke-2", v: 2 }); // this frame wakes a new instance
    await sleep(1000);
    const res = await w.fetch("/write", { method: "POST", body: JSON.stringify({ id: "hub-1", v: 1 }) });
    expect(res.status).toBe(200);
    let spokeIds: string[] = [];
    for (let i = 0; i < 25 && !spokeIds.includes("hub-1"); i++) {
      await sleep(200);
      spokeIds = (db.prepare("SELECT id FROM items ORDER BY id").all() as { id: string }[]).map((r) => r.id);
    }
    const after = (await w.json<{ instance: string }>("/instance")).instance;
    expect(after).not.toBe(before); // the object was evicted and woken
    expect((await w.json<{ id: string }[]>("/rows")).map((r) => r.id)).toEqual(["hub-1", "spoke-1", "spoke-2"]);
    expect(spokeIds).toEqual(["hub-1", "spoke-1", "spoke-2"]); // the hub sends on the re-linked socket
    expect(Number(/replic_ws_reconnects_total\{[^}]*\} (\d+)/.exec(link.metrics())?.[1])).toBe(0);
    expect(link.connected).toBe(true);
    await link.close();
    replica.close();
    db.close();
  }, 90_000);
});
