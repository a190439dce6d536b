// Durable Object storage limits, in workerd: a local write or a received message that cannot fit
// (value or row over 2 MB, a statement over 100 KB, the database at its bound) is refused up
// front with a typed ReplicError and changes nothing; a hub that refuses a spoke's message goes on
// serving the others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@replic/conformance/peer-process";
import { allConverged, hubMetric, nodeSpoke, sleep, type Spoke } from "./node-spoke";
import { bundleWorker, Workerd } from "./workerd";

const dir = mkdtempSync(join(tmpdir(), "replic-do-limits-"));
let w: Workerd;
const spokes: Spoke[] = [];

beforeAll(async () => {
  const script = await bundleWorker(join(dir, "build"));
  w = await Workerd.start({ script, persist: join(dir, "persist"), port: await freePort() });
}, 60_000);

afterAll(async () => {
  for (const s of spokes) await s.close();
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Err = { name: string; code?: string; message: string } | null;

describe("Durable Object storage limits", () => {
  it("local upserts and received messages beyond the limits are refused typed, whole, with nothing changed", async () => {
    const out = await w.json<{ ok: boolean; message?: string; result: Record<string, any> }>("/probe/limits?check=limits");
    expect(out.ok, out.message).toBe(true);
    const r = out.result;
    expect(r.ok1).toBe("44.1");
    const typed = (e: Err, name: string, code: string) => {
      expect(e, code).not.toBeNull();
      expect(e!.name).toBe(name);
      expect(e!.code).toBe(code);
    };
    typed(r.value, "ValidationError", "VALUE_TOO_LARGE");
    typed(r.text, "ValidationError", "VALUE_TOO_LARGE");
    typed(r.row, "ValidationError", "ROW_TOO_LARGE");
    typed(r.many, "ValidationError", "VALUE_TOO_LARGE");
    typed(r.tx, "ValidationError", "ROW_TOO_LARGE");
    typed(r.merged, "ValidationError", "ROW_TOO_LARGE"); // the platform's own refusal, typed
    expect(r.value.message).toMatch(/2000001 bytes for "items_patches"|2000001 bytes for "items"/);
    expect(r.unchanged).toBe(true);
    expect(r.next).toBe("44.2"); // no refused write used a sequence number
    typed(r.received, "ValidationError", "VALUE_TOO_LARGE");
    typed(r.receivedRow, "ValidationError", "ROW_TOO_LARGE");
    expect(r.receiveUnchanged).toBe(true); // the small patch of each refused message was not applied
    expect(r.afterGood).toEqual([{ id: 20, qty: 1 }, { id: 21, qty: 2 }]);
    typed(r.full, "ReplicError", "DATABASE_FULL");
    expect(r.written).toBeGreaterThan(0);
    expect(r.written).toBeLessThan(100);
    typed(r.longStatement, "ReplicError", "STATEMENT_TOO_LONG");
    typed(r.longMigration, "ReplicError", "STATEMENT_TOO_LONG");
    expect(r.otherTables).toBe(0);
    typed(r.badOption, "ReplicError", "INVALID_OPTION");
    typed(r.unknownLimit, "ReplicError", "INVALID_OPTION");
  }, 120_000);

  it("the hub refuses a spoke's message with a value too large for its storage; the other spokes converge", async () => {
    const a = nodeSpoke(w, dir, "a", 601);
    const b = nodeSpoke(w, dir, "b", 602);
    spokes.push(a, b);
    await Promise.all([a.link.linked(), b.link.linked()]);
    for (let i = 0; i < 5; i++) b.replica.upsert("items", { id: `b-${i}`, v: i, body: "b" });
    expect(await allConverged(w, [a, b])).toBe(true);
    // A Node replica accepts a 2.5 MB text (its SQLite has no such limit); the hub cannot store it.
    a.replica.upsert("items", { id: "huge", v: 0, body: "h".repeat(2_500_000) });
    const until = Date.now() + 15_000;
    while (Date.now() < until && (await hubMetric(w, 'replic_hub_refused_messages_total{code="VALUE_TOO_LARGE"}')) === 0) await sleep(200);
    expect(await hubMetric(w, 'replic_hub_refused_messages_total{code="VALUE_TOO_LARGE"}')).toBeGreaterThan(0);
    // B goes on writing; its rows reach A through the hub, and the hub never holds the huge row.
    for (let i = 5; i < 15; i++) b.replica.upsert("items", { id: `b-${i}`, v: i, body: "b" });
    const end = Date.now() + 20_000;
    const bRows = () => a.rows().filter((x) => x.id.startsWith("b-")).length;
    while (Date.now() < end && bRows() < 15) await sleep(200);
    expect(bRows()).toBe(15);
    const hub = await w.json<{ id: string }[]>("/rows");
    expect(hub.map((x) => x.id).filter((id) => id.startsWith("b-"))).toHaveLength(15);
    expect(hub.some((x) => x.id === "huge")).toBe(false);
    expect(b.rows().some((x) => x.id === "huge")).toBe(false);
    expect(a.link.connected && b.link.connected).toBe(true);
  }, 120_000);
});
