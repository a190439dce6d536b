// Closing a replica: the database stays the application's, which may close it right after. A
// closed replica must still answer status() and metrics() (transports and test harnesses ask it
// whether it is closed), without touching the database.
import { describe, expect, it } from "vitest";
import { createReplica, encodeMessage, patchesDdl, timestampFromMs } from "../src/index.js";
import { testDriver } from "./helpers.js";

describe("close", () => {
  it("status() and metrics() still answer after the application closed the database, with the counts read at close", () => {
    const d = testDriver();
    d.exec("CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT NOT NULL, pages INTEGER)");
    d.exec(patchesDdl(d, "books"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    // A row without its NOT NULL title is parked: a count that lives in the database.
    r.receive(7, encodeMessage({ kind: "patches", patches: [{ table: "books", peerId: 7, seq: 1, patchedAt: timestampFromMs(Date.now() - 1000), values: { id: "b1", pages: 3 } }] }));
    const parked = [{ table: "books", reason: "incomplete", rows: 1 }];
    expect(r.status().parkedRows).toEqual(parked);
    r.close();
    d.db.close();
    const s = r.status();
    expect(s.closed).toBe(true);
    expect(s.parkedRows).toEqual(parked);
    expect(s.alienPatches).toEqual([]);
    expect(r.metrics()).toContain('replic_parked_rows{table="books",reason="incomplete"} 1');
    expect(() => r.upsert("books", { id: "b2", title: "t" })).toThrow(expect.objectContaining({ code: "CLOSED" }));
  });

  it("a replica closed after its database was closed underneath it still closes, and answers status()", () => {
    const d = testDriver();
    d.exec("CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT)");
    d.exec(patchesDdl(d, "books"));
    const r = createReplica(d, { peerId: 1, heartbeatMs: 0 });
    d.db.close();
    r.close();
    expect(r.status()).toMatchObject({ closed: true, parkedRows: [], alienPatches: [] });
  });
});
