// The conformance basics on the Durable Object binding, inside workerd: one database per object,
// so the single-database checks of the shared suite run in the object (test/fixtures/checks.ts)
// and their observations are compared here with what every other adapter gives.
import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { CANONICAL_DIGEST, dumpDigest, playCanonicalHistory } from "@replic/conformance";
import { syncWorld } from "../../../conformance/src/world";
import { prng, shuffledWithDuplicates } from "../../../conformance/src/util";
import * as nodeAdapter from "@replic/adapter-node";
import { workerdForFile } from "./workerd";

const workerd = workerdForFile("conf");

interface Outcome<T> {
  ok: boolean;
  result: T;
  message?: string;
}

async function check<T>(object: string, name: string, input?: unknown): Promise<T> {
  const init = input === undefined ? undefined : { method: "POST", body: JSON.stringify(input) };
  const out = await workerd().json<Outcome<T>>(`/probe/${object}?check=${name}`, init);
  expect(out.ok, out.message).toBe(true);
  return out.result;
}

const hex = (s: string) => [...Buffer.from(s, "utf8")].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("Durable Object binding in workerd: conformance basics", () => {
  it("binds and reads every value kind exactly as the other adapters do", async () => {
    const r = await check<{ read: string[][]; one: string[]; none: boolean; tooBig: { name: string } | null; changed: number; quoted: string[]; firstOfMany: string[]; dropAfterGet: unknown }>(
      "values",
      "values",
    );
    expect(r.read).toEqual([
      ["integer", "number:1"],
      ["integer", "number:0"], // -0 binds as INTEGER 0
      ["real", "number:1.5"],
      ["integer", `number:${Number.MAX_SAFE_INTEGER}`],
      ["integer", `number:${-Number.MAX_SAFE_INTEGER}`],
      ["real", `number:${2 ** 60}`], // an unsafe number is a double, as everywhere
      ["integer", "bigint:9007199254740993"], // read back exactly, not rounded
      ["integer", `bigint:${(1n << 63n) - 1n}`],
      ["integer", `bigint:${-(1n << 63n)}`],
      ["text", `string:${hex("héllo 😀")}`],
      ["text", "string:610062"], // U+0000 kept
      ["text", "string:61efbfbd"], // a lone surrogate stored as U+FFFD, as on the wire
      ["text", "string:"],
      ["blob", "blob:010203"], // a subarray binds its own bytes
      ["blob", "blob:"],
      ["null", "null"],
    ]);
    expect(r.one).toEqual([`bigint:${(1n << 63n) - 1n}`]);
    expect(r.none).toBe(true);
    expect(r.tooBig?.name).toBe("RangeError");
    expect(r.changed).toBe(3);
    expect(r.quoted).toEqual([`string:${hex("?x")}`, "number:0"]);
    expect(r.firstOfMany).toEqual(["number:1"]);
    expect(r.dropAfterGet).toBe(null);
  });

  it("migrate, tokens, transaction commit and rollback, batches under the 100-parameter limit", async () => {
    const r = await check<Record<string, any>>("replica", "replica");
    expect(r.peerId).toBe(42);
    expect(r.tokens).toEqual(["42.1", "42.2", "42.3"]);
    expect(r.txResult).toBe("done");
    expect(r.thrown).toMatchObject({ message: "boom" });
    expect(r.badValue).toMatchObject({ code: "TYPE_MISMATCH" });
    // Neither failed transaction consumed a sequence number or left a row or a patch behind.
    expect(r.t6).toBe("42.6");
    expect(r.many).toEqual(["42.7", "42.156"]);
    expect(r.patches).toBe(156);
    expect(r.rows).toEqual([
      { id: 1, qty: 5, price: 3, name: "héllo", data: "X'00FF07'", deletedAt: null },
      { id: 2, qty: -3, price: null, name: null, data: "NULL", deletedAt: null },
      { id: 3, qty: 1, price: null, name: null, data: "NULL", deletedAt: null },
      { id: 4, qty: 2, price: null, name: null, data: "NULL", deletedAt: null },
      { id: 8, qty: null, price: null, name: "after", data: "NULL", deletedAt: null },
    ]);
  });

  it("a shorter migration list rolls back with the stored down scripts; the longer one applies again", async () => {
    const r = await check<{ up: string[]; down: string[]; again: string[] }>("rollback", "rollback");
    expect(r.up).toEqual(["items", "items_patches"]);
    expect(r.down).toEqual([]);
    expect(r.again).toEqual(["items", "items_patches"]);
  });

  it("the peer id and the sequence persist across reopen and a runtime restart; the clock never goes back", async () => {
    type Reopen = { peerId: number; token: string; clock: number };
    const a = await check<Reopen>("reopen", "reopen");
    const b = await check<Reopen>("reopen", "reopen");
    await workerd().stop();
    await workerd().restart();
    const c = await check<Reopen>("reopen", "reopen");
    expect(a.peerId).toBeGreaterThan(0);
    expect([b.peerId, c.peerId]).toEqual([a.peerId, a.peerId]);
    expect([a.token, b.token, c.token]).toEqual([`${a.peerId}.1`, `${a.peerId}.2`, `${a.peerId}.3`]);
    expect(b.clock).toBeGreaterThan(a.clock);
    expect(c.clock).toBeGreaterThan(b.clock);
  }, 60_000);

  it("the canonical history, received shuffled with duplicates, gives the tables every adapter gives", async () => {
    const node = syncWorld<Database.Database>({
      name: "better-sqlite3",
      adapter: nodeAdapter as never,
      openDatabase: (p) => new Database(p),
      closeDatabase: (db) => db.close(),
      exec: (db, sql) => db.exec(sql),
      all: (db, sql) => db.prepare(sql).all() as Record<string, unknown>[],
      childCommand: { cmd: "", args: [] },
    });
    const { run } = await playCanonicalHistory(node);
    await node.closeAll();
    const order = shuffledWithDuplicates(prng(7), run.messages);
    const input = order.map((m) => ({ from: m.from, bytes: Buffer.from(m.bytes).toString("base64") }));
    const { dump } = await check<{ dump: string }>("canonical", "canonical", input);
    expect(dumpDigest(dump)).toBe(CANONICAL_DIGEST);
  });

  // The shared suite's random histories (conformance/src/history.ts), played inside workerd by
  // the test worker on replicas that each live in their own Durable Object: several databases,
  // messages carried between objects over RPC, restarts as evictions of the object.
  const historyRuns = Number(process.env.REPLIC_DO_HISTORY_RUNS ?? 25);
  const seed = Number(process.env.REPLIC_PROP_SEED ?? Math.floor(Math.random() * 2 ** 31));
  type HistoryRun = { runs: number; ties: number; evictions: number; failure?: string };
  // A long request: a fresh connection each (a pooled one may have been closed by the runtime meanwhile).
  const histories = (kind: string) => workerd().json<HistoryRun>(`/history?kind=${kind}&runs=${historyRuns}&seed=${seed}`, { headers: { connection: "close" } });

  it(`random histories over 2-4 origin objects and 3 target objects converge to the model of the merge rule (${historyRuns} runs, REPLIC_PROP_SEED=${seed})`, async () => {
    const r = await histories("random");
    expect(r.failure).toBeUndefined();
    expect(r.runs).toBe(historyRuns);
    expect(r.evictions).toBeGreaterThan(0); // target 1 restarts in every history
  }, 600_000);

  it(`histories biased toward ties of the merge order, on Durable Objects (${historyRuns} runs, REPLIC_PROP_SEED=${seed})`, async () => {
    const r = await histories("ties");
    expect(r.failure).toBeUndefined();
    expect(r.runs).toBe(historyRuns);
    expect(r.ties).toBeGreaterThan(historyRuns / 2);
  }, 600_000);

  it("three replicas in three objects, over links that lose, duplicate and reorder, one evicted mid-way: gap repair brings all to every write", async () => {
    type Mesh = { writes: number; lossyRounds: number; repairRounds: number; lost: number; equal: boolean; missing: number[] };
    const r = await workerd().json<Mesh>(`/mesh?seed=${seed}`, { headers: { connection: "close" } });
    expect(r.lost).toBeGreaterThan(0); // the links did lose messages
    expect(r.writes).toBeGreaterThan(20);
    expect(r.missing).toEqual([]);
    expect(r.equal).toBe(true);
    expect(r.repairRounds).toBeGreaterThan(0);
  }, 300_000);

  it("what the platform refuses surfaces as the SQL error it is", async () => {
    const r = await check<Record<string, { message: string } | null>>("refused", "refused");
    expect(r.attach?.message).toMatch(/not authorized/);
    expect(r.version?.message).toMatch(/not authorized to use function: sqlite_version/);
    expect(r.begin?.message).toMatch(/transactionSync/);
    expect(r.tooManyParams?.message).toMatch(/too many SQL variables|between \?1 and \?100/);
  });
});
