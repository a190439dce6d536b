// A client flooding the hub, one that stops reading, one that never answers: the hub closes the
// flooder (4429) and the oversized frame (1009), sends a non-reading client no more than about
// twice maxBufferedBytes until it answers a ping, closes one whose ping stays unanswered (4408),
// counts each in its metrics, and the other spokes go on converging through it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort } from "@replic/conformance/peer-process";
import { encodeControl } from "@replic/transport-ws";
import { allConverged, hubMetric, nodeSpoke, sleep, type Spoke } from "./node-spoke";
import { RawClient } from "./raw-client";
import { bundleWorker, Workerd } from "./workerd";

const KiB = 1024;
const MAX_BUFFERED = 256 * KiB;
const MAX_MESSAGE = 1024 * KiB;
const ROW = 64_000;
const dir = mkdtempSync(join(tmpdir(), "replic-do-flood-"));
let w: Workerd;
let a: Spoke;
let b: Spoke;
const raws: RawClient[] = [];

beforeAll(async () => {
  const script = await bundleWorker(join(dir, "build"));
  w = await Workerd.start({
    script,
    persist: join(dir, "persist"),
    port: await freePort(),
    bindings: {
      SECRET: "",
      HEARTBEAT_MS: "200",
      MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
      MAX_MESSAGE_BYTES: String(MAX_MESSAGE),
      MAX_INBOUND_BPS: String(1024 * KiB),
      MAX_INBOUND_FPS: "200",
      // Long enough for the not-reading phase of the second test on a loaded machine.
      DEAD_AFTER_MS: "20000",
    },
  });
  a = nodeSpoke(w, dir, "a", 801);
  b = nodeSpoke(w, dir, "b", 802);
  await Promise.all([a.link.linked(), b.link.linked()]);
}, 60_000);

afterAll(async () => {
  for (const r of raws) r.close();
  await a?.close();
  await b?.close();
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function raw(peerId: number): RawClient {
  const r = new RawClient(w.wsUrl, peerId);
  raws.push(r);
  return r;
}

let hubWrites = 0;
async function hubWrite(body = "x".repeat(ROW)): Promise<void> {
  const n = ++hubWrites;
  const res = await w.fetch("/write", { method: "POST", body: JSON.stringify({ id: `hub-${n}`, v: n, body }) });
  expect(res.status).toBe(200);
}

describe("Durable Object hub under a flooding client", () => {
  it("a client sending over the byte or frame budget is closed with 4429, one oversized frame with 1009; the others converge", async () => {
    const bytes = raw(803);
    const frames = raw(804);
    const big = raw(805);
    await Promise.all([bytes.linked, frames.linked, big.linked]);
    // Far more than the hub could merge: 64 KiB frames as fast as the socket takes them.
    const junk = new Uint8Array(64 * KiB).fill(1);
    junk[0] = 0x72;
    let wrote = 0;
    const flood = (async () => {
      for (let i = 0; i < 2048 && bytes.ws.readyState === WebSocket.OPEN; i++) {
        bytes.ws.send(junk);
        wrote++;
        if (i % 32 === 0) await sleep(1);
      }
    })();
    // Many tiny frames.
    for (let i = 0; i < 3000 && frames.ws.readyState === WebSocket.OPEN; i++) frames.ws.send(encodeControl({ type: "ping" }));
    big.ws.send(new Uint8Array(MAX_MESSAGE + 1));
    // Meanwhile the real spokes write.
    for (let i = 0; i < 20; i++) {
      a.replica.upsert("items", { id: `a-${i}`, v: i, body: "a" });
      b.replica.upsert("items", { id: `b-${i}`, v: i, body: "b" });
      await sleep(10);
    }
    const [c1, c2, c3] = await Promise.all([bytes.closed, frames.closed, big.closed]);
    await flood;
    expect(c1.code).toBe(4429);
    expect(c1.reason).toMatch(/over the budget of 1048576 bytes and 200 frames per second/);
    expect(c2.code).toBe(4429);
    expect(c3.code).toBe(1009);
    expect(wrote * 64 * KiB).toBeGreaterThan(4 * 1024 * KiB); // it did send far over the budget before the close reached it
    expect(await hubMetric(w, "replic_hub_floods_total")).toBe(2);
    expect(await hubMetric(w, "replic_hub_oversized_frames_total")).toBe(1);
    expect(await allConverged(w, [a, b])).toBe(true);
    expect(a.rows().filter((x) => x.id.startsWith("b-"))).toHaveLength(20);
    expect(a.link.connected && b.link.connected).toBe(true);
  }, 120_000);

  it("a client that stops reading gets about twice maxBufferedBytes at most, and more only once it answers the ping", async () => {
    const r = raw(806);
    r.answerPings = false;
    await r.linked;
    await sleep(300);
    r.pause();
    const keepAlive = setInterval(() => r.ws.send(encodeControl({ type: "ping" })), 500);
    try {
      const start = r.received;
      const withheldBefore = await hubMetric(w, "replic_hub_withheld_total");
      for (let i = 0; i < 40; i++) await hubWrite(); // 2.5 MB to every peer
      expect(await allConverged(w, [a, b])).toBe(true); // the reading spokes got all of it
      expect(await hubMetric(w, "replic_hub_withheld_total")).toBeGreaterThan(withheldBefore);
      r.resume();
      await sleep(1500);
      const got = r.received - start;
      expect(got).toBeGreaterThan(MAX_BUFFERED / 2); // it got data, up to the bound
      expect(got).toBeLessThan(2 * MAX_BUFFERED + ROW + 16 * KiB); // and not the 2.5 MB
      expect(r.pings).toBeGreaterThan(0);
      // Unanswered, the ping keeps the hub from sending it new rows.
      const mark = r.received;
      await hubWrite();
      await sleep(800);
      expect(r.received - mark).toBeLessThan(ROW);
      // Answered: new rows reach it again.
      r.answerPings = true;
      r.pong();
      await sleep(300);
      const mark2 = r.received;
      await hubWrite();
      const until = Date.now() + 5000;
      while (Date.now() < until && r.received - mark2 < ROW) await sleep(100);
      expect(r.received - mark2).toBeGreaterThan(ROW);
      expect(r.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(keepAlive);
    }
    expect(await allConverged(w, [a, b])).toBe(true);
  }, 120_000);

  it("a client that never answers the hub's ping is closed after deadAfterMs with 4408, counted", async () => {
    const r = raw(807);
    r.answerPings = false;
    await r.linked;
    r.pause();
    // It keeps sending (so it is not silent) but never reads.
    const keepAlive = setInterval(() => r.ws.send(encodeControl({ type: "ping" })), 500);
    const before = await hubMetric(w, "replic_hub_slow_readers_total");
    try {
      for (let i = 0; i < 6; i++) await hubWrite();
      const until = Date.now() + 40_000;
      while (Date.now() < until && (await hubMetric(w, "replic_hub_slow_readers_total")) === before) await sleep(250);
      expect(await hubMetric(w, "replic_hub_slow_readers_total")).toBe(before + 1);
    } finally {
      clearInterval(keepAlive);
    }
    r.resume();
    const c = await r.closed;
    expect(c.code).toBe(4408);
    expect(c.reason).toMatch(/does not read/);
    expect(await allConverged(w, [a, b])).toBe(true);
  }, 90_000);
});
