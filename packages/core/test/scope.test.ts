// Scopes through the public API (docs/scopes.md): a scope that does not fit the schema refuses the
// open and changes nothing; replica.scope and status() read the checked scope; sameScope; and a
// hub, an honest spoke and a spoke writing outside its allow, all writing: the hub refuses what
// the spoke may not write, the other tenant's spoke never sees it, honest writes converge.
import { afterEach, describe, expect, it } from "vitest";
import { createReplica, isReplicError, sameScope, type Replica, type ReplicaOptions } from "../src/index.js";
import { codeOf, openScoped, scopeDb } from "./scope-fixtures.js";
import { testDriver } from "./helpers.js";

const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});

describe("a scope is checked at open", () => {
  const refusal = (scope: unknown, d = scopeDb()) => {
    try {
      opened.push(createReplica(d, { heartbeatMs: 0, scope: scope as ReplicaOptions["scope"] }));
    } catch (e) {
      return isReplicError(e) ? `${e.code}: ${e.message}` : `not a ReplicError: ${String(e)}`;
    }
    return "opened";
  };

  it("refuses an empty or malformed shape", () => {
    expect(refusal({})).toBe("INVALID_SCOPE: scope names no table: leave it out to hold every row");
    expect(refusal(null)).toBe("INVALID_SCOPE: scope must be an object { table: { keyColumn: [values] } }, got null");
    expect(refusal([])).toMatch(/^INVALID_SCOPE: scope must be an object .*got an array$/);
    expect(refusal("items")).toMatch(/^INVALID_SCOPE: scope must be an object/);
    expect(refusal(new Map())).toMatch(/^INVALID_SCOPE: scope must be an object .*got an object$/);
    expect(refusal({ items: {} })).toBe("INVALID_SCOPE: scope.items names no key column: leave the table out to hold it whole");
    expect(refusal({ items: [1] })).toMatch(/^INVALID_SCOPE: scope.items must be an object/);
    expect(refusal({ items: { tenantId: 1 } })).toBe("INVALID_SCOPE: scope.items.tenantId must be an array of values, got the number 1");
    expect(refusal({ items: { tenantId: "1" } })).toBe('INVALID_SCOPE: scope.items.tenantId must be an array of values, got the text "1"');
  });

  it("refuses an unknown table, an unknown column and a column outside the primary key", () => {
    expect(refusal({ orders: { id: [1] } })).toBe('INVALID_SCOPE: scope names "orders", which is not a replicated table');
    expect(refusal({ items_patches: { id: [1] } })).toBe('INVALID_SCOPE: scope names "items_patches", which is not a replicated table');
    expect(refusal({ items: { tenant: [1] } })).toBe('INVALID_SCOPE: scope.items names "tenant", which is not a column of "items"');
    expect(refusal({ items: { name: ["a"] } })).toBe(
      'INVALID_SCOPE: scope.items names "name", which is not a primary-key column of "items" (a scope filters on key columns only)',
    );
    // A table created later (by migrate) is unknown at open.
    expect(refusal({ items: { id: [1] } }, testDriver())).toBe('INVALID_SCOPE: scope names "items", which is not a replicated table');
  });

  it("refuses a value of the wrong type for its column", () => {
    expect(refusal({ items: { tenantId: ["one"] } })).toBe('INVALID_SCOPE: scope.items.tenantId: "items"."tenantId" is declared INTEGER; the text "one" cannot be one of its keys');
    expect(refusal({ items: { tenantId: [new Uint8Array([1])] } })).toMatch(/^INVALID_SCOPE: scope.items.tenantId: .*a blob cannot be one of its keys$/);
    expect(refusal({ items: { tenantId: [null] } })).toBe('INVALID_SCOPE: scope.items.tenantId: "items"."tenantId" cannot be NULL');
    expect(refusal({ items: { tenantId: [1, undefined] } })).toMatch(/^INVALID_SCOPE: scope.items.tenantId: .*got undefined$/);
    expect(refusal({ items: { tenantId: [{}] } })).toMatch(/^INVALID_SCOPE: scope.items.tenantId: /);
    expect(refusal({ items: { tenantId: [Number.NaN] } })).toMatch(/^INVALID_SCOPE: scope.items.tenantId: /);
    expect(refusal({ tags: { tag: [new Uint8Array([1])] } })).toMatch(/^INVALID_SCOPE: scope.tags.tag: .*declared TEXT; a blob cannot be one of its keys$/);
    expect(refusal({ tags: { tag: [1.5] } })).toMatch(/^INVALID_SCOPE: scope.tags.tag: /); // stored as text that differs between SQLite versions
    // STRICT: the declared type itself.
    expect(refusal({ files: { k: ["text"] } })).toMatch(/^INVALID_SCOPE: scope.files.k: .*STRICT/);
    expect(refusal({ notes: { id: ["1"] } })).toMatch(/^INVALID_SCOPE: scope.notes.id: /); // an INTEGER PRIMARY KEY takes integers only
    expect(refusal({ notes: { id: [1.5] } })).toMatch(/^INVALID_SCOPE: scope.notes.id: /);
  });

  it("a refused open changes nothing in the database", () => {
    const d = scopeDb();
    const tables = () => d.db.prepare("SELECT name FROM sqlite_schema ORDER BY name").pluck().all();
    const before = tables();
    expect(refusal({ items: { name: ["a"] } }, d)).toMatch(/^INVALID_SCOPE/);
    expect(tables()).toEqual(before);
    expect(refusal({ items: { tenantId: [1] } }, d)).toBe("opened");
  });

  it("replica.scope and status().scope read the checked scope, values as stored, frozen", () => {
    const x = openScoped(1, { scope: { items: { tenantId: [1, "2", 3n] }, tags: { tag: [7, "red"] } } });
    opened.push(x.r);
    const expected = { items: { tenantId: [1, 2, 3n] }, tags: { tag: ["7", "red"] } };
    expect(x.r.scope).toEqual(expected);
    expect(x.r.status().scope).toEqual(expected);
    expect(Object.isFrozen(x.r.scope)).toBe(true);
    expect(Object.isFrozen(x.r.scope!.items)).toBe(true);
    expect(Object.isFrozen(x.r.scope!.items!.tenantId)).toBe(true);
    const whole = openScoped(2);
    opened.push(whole.r);
    expect(whole.r.scope).toBeUndefined();
    expect(whole.r.status().scope).toBeNull();
    // Given as undefined, the option is absent.
    const d = scopeDb();
    const r = createReplica(d, { heartbeatMs: 0, scope: undefined });
    opened.push(r);
    expect(r.scope).toBeUndefined();
  });
});

describe("a scope after a migration", () => {
  it("a named column that is no longer a key holds no row of its table (checked by name, failing closed)", () => {
    const x = openScoped(1, { scope: { notes: { id: [1] } } });
    opened.push(x.r);
    expect(x.r.upsert("notes", { id: 1, body: "before" })).toBe("1.1");
    // notes is rebuilt keyed by `k`: `id` is an ordinary column now.
    x.r.migrate([
      {
        up: `DROP TABLE notes_patches; DROP TABLE notes;
CREATE TABLE notes (k TEXT PRIMARY KEY, id INTEGER, body TEXT);
CREATE TABLE notes_patches (k TEXT, id INTEGER, body TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`,
        down: "DROP TABLE notes_patches; DROP TABLE notes;",
      },
    ]);
    expect(codeOf(() => x.r.upsert("notes", { k: "a", id: 1, body: "after" }))).toBe("OUT_OF_SCOPE");
    expect(x.r.upsert("items", { id: 1, tenantId: 5 })).toBe("1.2"); // tables the scope does not name are unaffected
  });
});

describe("adopt() and the scope", () => {
  it("a batch holding a row outside fails with OUT_OF_SCOPE; earlier batches stay adopted", () => {
    const x = openScoped(1, { scope: { items: { tenantId: [1] } } });
    opened.push(x.r);
    x.db.exec("INSERT INTO items (id, tenantId, name) VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 1, 'c')");
    expect(codeOf(() => x.r.adopt("items", { batchSize: 1 }))).toBe("OUT_OF_SCOPE");
    expect(x.itemPatches()).toEqual([[1, 1, "a", 1, 1]]);
  });
});

describe("sameScope", () => {
  it("compares tables, columns and values in any order; types count", () => {
    expect(sameScope(undefined, undefined)).toBe(true);
    expect(sameScope({ items: { tenantId: [1] } }, undefined)).toBe(false);
    expect(sameScope({ a: { x: [1, 2] }, b: { y: ["z"] } }, { b: { y: ["z"] }, a: { x: [2, 1, 1] } })).toBe(true);
    expect(sameScope({ a: { x: [1] } }, { a: { x: ["1"] } })).toBe(false);
    expect(sameScope({ a: { x: [1] } }, { a: { x: [1n] } })).toBe(true);
    expect(sameScope({ a: { x: [new Uint8Array([1, 2])] } }, { a: { x: [new Uint8Array([1, 2])] } })).toBe(true);
    expect(sameScope({ a: { x: [new Uint8Array([1, 2])] } }, { a: { x: [new Uint8Array([12])] } })).toBe(false);
    expect(sameScope({ a: { x: [1], y: [2] } }, { a: { x: [1] } })).toBe(false);
  });
});

/** Replicas linked through a queue: `pump` delivers until nothing is left, collecting refusals. */
function network() {
  const queue: Array<[Replica, number, Uint8Array]> = [];
  const refusals: Array<{ at: number; from: number; code: string }> = [];
  const link = (a: Replica, b: Replica, allowAtA?: ReplicaOptions["scope"], allowAtB?: ReplicaOptions["scope"]) => {
    a.addPeer(b.peerId, (m) => void queue.push([b, a.peerId, m.slice()]), allowAtA ? { allow: allowAtA } : undefined);
    b.addPeer(a.peerId, (m) => void queue.push([a, b.peerId, m.slice()]), allowAtB ? { allow: allowAtB } : undefined);
  };
  const pump = () => {
    for (let n = 0; queue.length > 0; n++) {
      if (n > 100_000) throw new Error("the network does not settle");
      const [to, from, bytes] = queue.shift()!;
      try {
        to.receive(from, bytes);
      } catch (e) {
        refusals.push({ at: to.peerId, from, code: isReplicError(e) ? e.code : String(e) });
      }
    }
  };
  return { link, pump, refusals };
}

describe("a spoke writing outside its allow", () => {
  it("is refused at the hub, never reaches the other tenant's spoke, and honest writes converge", () => {
    const hub = openScoped(100);
    // The hostile spoke holds everything itself (its own scope is its business); the hub allows it tenant 1.
    const rogue = openScoped(1);
    const t2 = openScoped(2, { scope: { items: { tenantId: [2] } } });
    opened.push(hub.r, rogue.r, t2.r);
    const net = network();
    net.link(hub.r, rogue.r, { items: { tenantId: [1] } });
    net.link(hub.r, t2.r, { items: { tenantId: [2] } });
    const honest: Array<[number, number, string]> = [];
    const write = (x: typeof hub, tenantId: number, id: number, legit = true) => {
      const name = `${x.r.peerId}:${tenantId}:${id}`;
      x.r.upsert("items", { tenantId, id, name });
      if (legit) honest.push([tenantId, id, name]);
    };
    for (let round = 0; round < 6; round++) {
      write(hub, 1, 100 + round);
      write(hub, 2, 200 + round);
      write(rogue, 1, 300 + round);
      if (round % 2 === 1) write(rogue, 2, 400 + round, false); // outside its allow
      write(t2, 2, 500 + round);
      rogue.r.upsert("notes", { id: round, body: "notes are not restricted" });
      net.pump();
      for (const x of [hub, rogue, t2]) x.r.tick();
      net.pump();
    }
    // A few more rounds: gap repair asks for what was refused and is refused again, nothing else changes.
    for (let i = 0; i < 5; i++) {
      for (const x of [hub, rogue, t2]) x.r.tick();
      net.pump();
    }
    // What is sent is not filtered by the receiver's scope yet (docs/scopes.md): the tenant-2 spoke
    // receives tenant 1's honest rows too, and none of the refused ones.
    const sorted: unknown[][] = honest.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(hub.items()).toEqual(sorted);
    expect(t2.items()).toEqual(sorted);
    expect(t2.items().filter((r) => (r[1] as number) >= 400 && (r[1] as number) < 500)).toEqual([]);
    expect(t2.itemPatches().filter((p) => p[0] === 2 && p[3] === 1)).toEqual([]);
    expect(hub.all("SELECT count(*) FROM notes")).toEqual([[6]]);
    expect(t2.all("SELECT count(*) FROM notes")).toEqual([[6]]);
    // Refused, typed and counted at the hub, and only there; the honest spoke is never refused.
    expect(net.refusals.length).toBeGreaterThanOrEqual(3);
    expect(new Set(net.refusals.map((r) => `${r.at}<-${r.from}:${r.code}`))).toEqual(new Set(["100<-1:OUT_OF_SCOPE"]));
    const atHub = hub.r.status().peers;
    expect(atHub.find((p) => p.peerId === 1)!.outOfScope).toBe(net.refusals.length);
    expect(atHub.find((p) => p.peerId === 2)!.outOfScope).toBe(0);
    expect(hub.metric("messages_out_of_scope_total")).toBe(net.refusals.length);
    expect(hub.warnings.filter((w) => w.includes("outside what that peer may write"))).toHaveLength(net.refusals.length);
  });
});

