/**
 * The page ↔ worker protocol, end to end over a real MessageChannel (the same structured clone
 * as postMessage to a Worker): calls, results, typed errors, events, app methods, watch.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ReplicError, ValidationError } from "@replic/core";
import { openOo1Replica } from "../src/open-oo1";
import { exposeReplica, oo1Query } from "../src/worker-host";
import { connectReplicaWorker } from "../src/worker-client";
import { watch } from "../src/browser";
import { reportFatal, type MessageEndpoint } from "../src/worker-protocol";
import { loadSqlite3, TODO_MIGRATIONS, type Sqlite3 } from "./sqlite-wasm";

let sqlite3: Sqlite3;
beforeAll(async () => {
  sqlite3 = await loadSqlite3();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function setup(methods: Record<string, (...args: never[]) => unknown> = {}) {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  const replica = openOo1Replica(db, sqlite3, { peerId: 77, heartbeatMs: 0 });
  replica.migrate(TODO_MIGRATIONS);
  const { port1, port2 } = new MessageChannel();
  const host = exposeReplica(port1 as unknown as MessageEndpoint, replica, {
    query: oo1Query(db),
    info: { storage: "memory", slot: null },
    methods,
  });
  const client = connectReplicaWorker(port2 as unknown as MessageEndpoint);
  cleanups.push(() => {
    client.close();
    host.close();
    (port1 as MessagePort).close();
    replica.close();
    db.close();
  });
  return { db, replica, client, host };
}

describe("worker protocol", () => {
  it("announces ready with the peer id and the host's info", async () => {
    const { client } = setup();
    expect(await client.ready).toEqual({ storage: "memory", slot: null, peerId: 77 });
  });

  it("upserts, batches and queries with exact values", async () => {
    const { client, replica } = setup();
    const token = await client.upsert("todos", { id: "a", title: "first", done: 2n ** 62n });
    expect(token).toBe("77.1");
    const tokens = await client.batch([
      { table: "todos", row: { id: "b", title: "second" } },
      { table: "tags", row: { id: "g", todo: "b", name: "x" } },
    ]);
    expect(tokens).toEqual(["77.2", "77.3"]);
    expect(await client.upsertMany("todos", [{ id: "c" }, { id: "d" }])).toEqual(["77.4", "77.5"]);
    const rows = await client.query("SELECT id, title, done FROM todos WHERE id <= ? ORDER BY id", ["b"]);
    expect(rows).toEqual([
      { id: "a", title: "first", done: 2n ** 62n },
      { id: "b", title: "second", done: null },
    ]);
    expect((await client.status()).sequence).toBe(replica.status().sequence);
    expect(await client.metrics()).toContain("replic_");
    await client.waitFor("77.5", 100);
  });

  it("returns errors as typed ReplicErrors and writes nothing", async () => {
    const { client, db } = setup();
    const err = await client.upsert("nope", { id: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicError);
    expect((err as ReplicError).code).toBe("UNKNOWN_TABLE");
    expect((err as Error).name).toBe(new ValidationError("UNKNOWN_TABLE", "").name);
    const bad = await client.batch([{ table: "todos", row: { id: "ok" } }, { table: "todos", row: { title: "no key" } }]).catch((e: unknown) => e);
    expect((bad as ReplicError).code).toBe("MISSING_PRIMARY_KEY");
    expect(db.selectValue("SELECT count(*) FROM todos")).toBe(0);
    const write = await client.query("DELETE FROM todos").catch((e: unknown) => e);
    expect((write as ReplicError).code).toBe("INVALID_OPTION");
    const unknown = await client.call("dropEverything").catch((e: unknown) => e);
    expect((unknown as ReplicError).message).toMatch(/no worker method "dropEverything"/);
    const sqlError = await client.query("SELECT * FROM missing_table").catch((e: unknown) => e);
    expect(sqlError).toBeInstanceOf(Error);
    expect((sqlError as Error).message).toMatch(/no such table/);
  });

  it("forwards merge events and the app's own methods and events", async () => {
    const { client, host } = setup({ double: (n: number) => n * 2 });
    const merges: unknown[] = [];
    client.on("merge", (e) => merges.push(e));
    const custom: unknown[] = [];
    client.on("connection", (p) => custom.push(p));
    await client.upsert("todos", { id: "a" });
    expect(await client.call("double", 21)).toBe(42);
    host.emit("connection", { online: false });
    await new Promise((r) => setTimeout(r, 20));
    expect(merges).toEqual([expect.objectContaining({ local: true, patches: 1 })]);
    expect(custom).toEqual([{ online: false }]);
  });

  it("serves watch() on the page: re-runs after writes made through the worker", async () => {
    const { client } = setup();
    const seen: unknown[] = [];
    let resolveNext: () => void = () => {};
    const w = watch(client, "SELECT id FROM todos ORDER BY id", [], (rows) => {
      seen.push(rows.map((r) => r.id));
      resolveNext();
    });
    cleanups.push(() => w.close());
    const next = () => new Promise<void>((r) => (resolveNext = r));
    let n = next();
    await n;
    expect(await w.tables).toEqual(["todos"]);
    n = next();
    await client.upsert("todos", { id: "x" });
    await n;
    n = next();
    await client.upsert("todos", { id: "y" });
    await n;
    expect(seen).toEqual([[], ["x"], ["x", "y"]]);
  });

  it("rejects pending calls when the client closes", async () => {
    const { client } = setup({ never: () => new Promise(() => {}) });
    await client.ready;
    const pending = client.call("never");
    client.close();
    await expect(pending).rejects.toMatchObject({ code: "CLOSED" });
    await expect(client.status()).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("a worker that cannot start reports fatal: ready and calls reject with its typed error", async () => {
    const { port1, port2 } = new MessageChannel();
    const client = connectReplicaWorker(port2 as unknown as MessageEndpoint);
    cleanups.push(() => {
      client.close();
      (port1 as MessagePort).close();
    });
    const call = client.status();
    reportFatal(port1 as unknown as MessageEndpoint, new ReplicError("INVALID_OPTION", "all 16 database slots are in use"));
    await expect(client.ready).rejects.toMatchObject({ code: "INVALID_OPTION", message: "all 16 database slots are in use" });
    await expect(call).rejects.toBeInstanceOf(ReplicError);
    await expect(client.upsert("todos", { id: "x" })).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});
