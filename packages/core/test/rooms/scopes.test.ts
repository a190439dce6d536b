// Scopes in the two mutated rooms they touch: the local write path (src/local-writes.ts) refuses a
// row outside the replica's own scope and writes nothing; the received-message path
// (src/inbound.ts) refuses whole a patches message from a neighbour with a patch outside its
// allow, counts it, logs it, and neither merges nor relays anything of it.
import { afterEach, describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, isReplicError, OutOfScopeError, timestampFromMs, type Message, type Replica } from "../../src/index.js";
import { codeOf, itemsMessage, openScoped, SCOPE_DDL, SCOPE_MIGRATIONS, T0 } from "../scope-fixtures.js";
import { testDriver } from "../helpers.js";

const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});
function open(peerId: number, options: Parameters<typeof openScoped>[1] = {}, d?: Parameters<typeof openScoped>[2]) {
  const x = openScoped(peerId, options, d);
  opened.push(x.r);
  return x;
}
/** Links `peer` to `x`, recording the messages it is sent. */
function link(r: Replica, peer: number, allow?: Record<string, Record<string, unknown[]>>): Message[] {
  const sent: Message[] = [];
  r.addPeer(peer, (b) => void sent.push(decodeMessage(b)), allow ? { allow: allow as never } : undefined);
  return sent;
}
const patchesIn = (sent: Message[]) => sent.flatMap((m) => (m.kind === "patches" ? m.patches.map((p) => `${p.peerId}.${p.seq}`) : []));

describe("local writes outside the replica's own scope", () => {
  const TENANT_1 = { scope: { items: { tenantId: [1] } } };

  it("upsert of a row outside fails with OUT_OF_SCOPE, naming the table and key, and writes nothing", () => {
    const x = open(1, TENANT_1);
    const sent = link(x.r, 9);
    let err: unknown;
    try {
      x.r.upsert("items", { id: 5, tenantId: 2, name: "other tenant" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfScopeError);
    expect(isReplicError(err) && err.code).toBe("OUT_OF_SCOPE");
    expect((err as OutOfScopeError).table).toBe("items");
    expect((err as OutOfScopeError).key).toEqual({ id: 5, tenantId: 2 });
    expect((err as OutOfScopeError).fromPeerId).toBeUndefined();
    expect((err as Error).message).toBe(`"items" {"id":5,"tenantId":2} is outside this replica's scope: nothing was written`);
    expect(x.items()).toEqual([]);
    expect(x.itemPatches()).toEqual([]);
    expect(x.r.status().sequence).toBe(0);
    expect(x.metric("patches_local_total")).toBe(0);
    expect(patchesIn(sent)).toEqual([]);
    // Inside the scope, and in a table the scope does not name, writes go through.
    expect(x.r.upsert("items", { id: 5, tenantId: 1, name: "mine" })).toBe("1.1");
    expect(x.r.upsert("notes", { id: 1, body: "held whole" })).toBe("1.2");
    expect(x.items()).toEqual([[1, 5, "mine"]]);
    expect(patchesIn(sent)).toEqual(["1.1", "1.2"]);
  });

  it("upsertMany with one row outside writes none of them, in its own transaction or inside one", () => {
    const x = open(1, TENANT_1);
    const rows = [
      { id: 1, tenantId: 1 },
      { id: 2, tenantId: 1 },
      { id: 3, tenantId: 2 },
    ];
    expect(codeOf(() => x.r.upsertMany("items", rows))).toBe("OUT_OF_SCOPE");
    expect(codeOf(() => x.r.transaction(() => x.r.upsertMany("items", rows)))).toBe("OUT_OF_SCOPE");
    expect(x.items()).toEqual([]);
    expect(x.itemPatches()).toEqual([]);
    expect(x.r.status().sequence).toBe(0);
    expect(x.r.upsertMany("items", rows.slice(0, 2))).toEqual(["1.1", "1.2"]);
  });

  it("a transaction whose later write is outside is undone whole; one that catches it keeps the rest", () => {
    const x = open(1, TENANT_1);
    const sent = link(x.r, 9);
    expect(
      codeOf(() =>
        x.r.transaction(() => {
          x.r.upsert("items", { id: 1, tenantId: 1, name: "a" });
          x.r.upsert("notes", { id: 1, body: "b" });
          x.r.upsert("items", { id: 2, tenantId: 3, name: "c" });
        }),
      ),
    ).toBe("OUT_OF_SCOPE");
    expect(x.items()).toEqual([]);
    expect(x.all("SELECT * FROM notes")).toEqual([]);
    expect(x.r.status().sequence).toBe(0);
    expect(patchesIn(sent)).toEqual([]);
    // The failing write itself wrote nothing and took no sequence number.
    x.r.transaction(() => {
      x.r.upsert("items", { id: 1, tenantId: 1, name: "a" });
      expect(codeOf(() => x.r.upsert("items", { id: 2, tenantId: 3, name: "c" }))).toBe("OUT_OF_SCOPE");
      x.r.upsert("items", { id: 3, tenantId: 1, name: "d" });
    });
    expect(x.items()).toEqual([
      [1, 1, "a"],
      [1, 3, "d"],
    ]);
    expect(x.itemPatches().map((p) => p[4])).toEqual([1, 2]);
    expect(patchesIn(sent)).toEqual(["1.1", "1.2"]);
  });

  it("every named column must match (a conjunction); values match as SQLite stores them", () => {
    const x = open(1, { scope: { items: { tenantId: [1, "2"], id: [10n, 11] }, tags: { tag: [7, "red"] } } });
    expect(x.r.upsert("items", { id: 10, tenantId: 1 })).toBe("1.1");
    expect(x.r.upsert("items", { id: 11, tenantId: 2 })).toBe("1.2");
    expect(x.r.upsert("items", { id: "11", tenantId: "2" })).toBe("1.3"); // numeric text in INTEGER columns is the number
    expect(codeOf(() => x.r.upsert("items", { id: 12, tenantId: 1 }))).toBe("OUT_OF_SCOPE");
    expect(codeOf(() => x.r.upsert("items", { id: 10, tenantId: 3 }))).toBe("OUT_OF_SCOPE");
    // A plain TEXT column stores the number 7 as the text "7".
    expect(x.r.upsert("tags", { tag: "7" })).toBe("1.4");
    expect(x.r.upsert("tags", { tag: 7 })).toBe("1.5");
    expect(x.r.upsert("tags", { tag: "red" })).toBe("1.6");
    expect(codeOf(() => x.r.upsert("tags", { tag: "blue" }))).toBe("OUT_OF_SCOPE");
    expect(codeOf(() => x.r.upsert("tags", { tag: 8 }))).toBe("OUT_OF_SCOPE");
    expect(x.r.status().sequence).toBe(6);
  });

  it("blob keys match by their bytes", () => {
    const x = open(1, { scope: { files: { k: [new Uint8Array([1, 2])] } } });
    expect(x.r.upsert("files", { k: new Uint8Array([1, 2]), n: 1 })).toBe("1.1");
    expect(codeOf(() => x.r.upsert("files", { k: new Uint8Array([1, 3]), n: 1 }))).toBe("OUT_OF_SCOPE");
    expect(codeOf(() => x.r.upsert("files", { k: new Uint8Array([1]), n: 1 }))).toBe("OUT_OF_SCOPE");
  });

  it("an empty list of values holds none of the table's rows", () => {
    const x = open(1, { scope: { items: { tenantId: [] } } });
    expect(codeOf(() => x.r.upsert("items", { id: 1, tenantId: 1 }))).toBe("OUT_OF_SCOPE");
    expect(x.r.upsert("notes", { id: 1 })).toBe("1.1");
  });
});

describe("received patches outside a neighbour's allow", () => {
  const ALLOW_1 = { items: { tenantId: [1] } };

  it("a message with one patch outside is refused whole: typed, counted, logged, nothing merged or relayed", () => {
    const x = open(1);
    link(x.r, 2, ALLOW_1);
    const third = link(x.r, 3);
    const bytes = itemsMessage({ peer: 2, seq: 1, tenantId: 1, id: 1 }, { peer: 2, seq: 2, tenantId: 2, id: 7 }, { peer: 2, seq: 3, tenantId: 1, id: 2 });
    let err: unknown;
    try {
      x.r.receive(2, bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfScopeError);
    expect((err as OutOfScopeError).code).toBe("OUT_OF_SCOPE");
    expect((err as OutOfScopeError).fromPeerId).toBe(2);
    expect((err as OutOfScopeError).table).toBe("items");
    expect((err as OutOfScopeError).key).toEqual({ id: 7, tenantId: 2 });
    expect((err as Error).message).toBe(`patch 2.2 from peer 2 writes "items" {"id":7,"tenantId":2}, outside what that peer may write: message refused`);
    expect(x.items()).toEqual([]);
    expect(x.itemPatches()).toEqual([]);
    expect(x.r.status().origins.find((o) => o.peerId === 2)).toBeUndefined();
    expect(x.metric("messages_out_of_scope_total")).toBe(1);
    expect(x.metric("receive_errors_total")).toBe(1);
    expect(x.metric("patches_applied_total")).toBe(0);
    expect(x.r.status().peers.find((p) => p.peerId === 2)).toMatchObject({ allow: ALLOW_1, outOfScope: 1 });
    expect(x.r.status().peers.find((p) => p.peerId === 3)).toMatchObject({ allow: null, outOfScope: 0 });
    expect(x.warnings).toEqual([`replic: ${(err as Error).message}`]);
    x.r.tick();
    expect(patchesIn(third)).toEqual([]);
    // The same neighbour's patches inside its allow merge and are relayed as ever.
    x.r.receive(2, itemsMessage({ peer: 2, seq: 1, tenantId: 1, id: 1 }, { peer: 2, seq: 3, tenantId: 1, id: 2 }));
    expect(x.items()).toEqual([
      [1, 1, "2.1"],
      [1, 2, "2.3"],
    ]);
    expect(patchesIn(third)).toEqual(["2.1", "2.3"]);
    expect(x.metric("messages_out_of_scope_total")).toBe(1);
  });

  it("allow covers every patch whoever wrote it, and leaves tables it does not name whole", () => {
    const x = open(1);
    link(x.r, 2, ALLOW_1);
    // A relayed patch of another origin outside the allow is refused as well.
    expect(codeOf(() => x.r.receive(2, itemsMessage({ peer: 5, seq: 1, tenantId: 2, id: 1 })))).toBe("OUT_OF_SCOPE");
    expect(x.r.status().peers[0]!.outOfScope).toBe(1);
    x.r.receive(2, encodeMessage({ kind: "patches", patches: [{ table: "notes", peerId: 2, seq: 1, patchedAt: timestampFromMs(T0), values: { id: 1, body: "x" } }] }));
    expect(x.all("SELECT id, body FROM notes")).toEqual([[1, "x"]]);
  });

  it("a neighbour linked without allow, or an unlinked sender, may write anything", () => {
    const x = open(1);
    link(x.r, 2);
    x.r.receive(2, itemsMessage({ peer: 2, seq: 1, tenantId: 9, id: 1 }));
    x.r.receive(4, itemsMessage({ peer: 4, seq: 1, tenantId: 8, id: 1 }));
    expect(x.items()).toEqual([
      [8, 1, "4.1"],
      [9, 1, "2.1"],
    ]);
    expect(x.metric("messages_out_of_scope_total")).toBe(0);
  });

  it("linking a neighbour again replaces its allow", () => {
    const x = open(1);
    link(x.r, 2, ALLOW_1);
    expect(codeOf(() => x.r.receive(2, itemsMessage({ peer: 2, seq: 1, tenantId: 2, id: 1 })))).toBe("OUT_OF_SCOPE");
    link(x.r, 2, { items: { tenantId: [1, 2] } });
    x.r.receive(2, itemsMessage({ peer: 2, seq: 1, tenantId: 2, id: 1 }));
    expect(codeOf(() => x.r.receive(2, itemsMessage({ peer: 2, seq: 2, tenantId: 3, id: 1 })))).toBe("OUT_OF_SCOPE");
    expect(x.r.status().peers[0]!.outOfScope).toBe(2);
    link(x.r, 2);
    x.r.receive(2, itemsMessage({ peer: 2, seq: 2, tenantId: 3, id: 1 }));
    expect(x.items().map((r) => r[0])).toEqual([2, 3]);
    expect(x.r.status().peers[0]!.allow).toBeNull();
  });

  it("a group with one part outside is refused whole; heartbeats and requests of that neighbour still count", () => {
    const x = open(1);
    const back = link(x.r, 2, ALLOW_1);
    const group = encodeMessage({
      kind: "patches",
      groups: [{ peerId: 2, first: 1, last: 2 }],
      patches: [
        { table: "items", peerId: 2, seq: 1, patchedAt: timestampFromMs(T0), values: { id: 1, tenantId: 1 } },
        { table: "items", peerId: 2, seq: 2, patchedAt: timestampFromMs(T0), values: { id: 2, tenantId: 2 } },
      ],
    });
    expect(codeOf(() => x.r.receive(2, group))).toBe("OUT_OF_SCOPE");
    expect(x.r.status().incompleteGroups.count).toBe(0);
    expect(x.items()).toEqual([]);
    x.r.upsert("notes", { id: 1 });
    x.r.receive(2, encodeMessage({ kind: "request", ranges: [{ peerId: 1, from: 1, to: 1 }] }));
    expect(patchesIn(back)).toContain("1.1");
  });

  it("the known part of a patch naming an unknown column is checked; a patch of a table unknown here passes unless allow names it", () => {
    const d = testDriver();
    const x = open(1, {}, d);
    x.r.migrate(SCOPE_MIGRATIONS);
    link(x.r, 2, { items: { tenantId: [1] }, tags: { tag: ["a"] } });
    const alien = (table: string, values: Record<string, unknown>, seq: number) =>
      encodeMessage({ kind: "patches", patches: [{ table, peerId: 2, seq, patchedAt: timestampFromMs(T0), values: values as never }] });
    expect(codeOf(() => x.r.receive(2, alien("items", { id: 1, tenantId: 2, colour: "new" }, 1)))).toBe("OUT_OF_SCOPE");
    x.r.receive(2, alien("items", { id: 1, tenantId: 1, colour: "new" }, 1));
    x.r.receive(2, alien("unknown_here", { id: 1 }, 2));
    expect(x.r.status().alienPatches.map((a) => a.table).sort()).toEqual(["items", "unknown_here"]);
    // tags is dropped by a rollback: its patches become alien, and the allow naming it cannot be checked.
    x.r.migrate(SCOPE_MIGRATIONS.slice(0, 1));
    let err: unknown;
    try {
      x.r.receive(2, alien("tags", { tag: "a" }, 3));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfScopeError);
    expect((err as OutOfScopeError).message).toBe(`patch 2.3 from peer 2 writes "tags", a table unknown here that its allow names: message refused`);
    expect((err as OutOfScopeError).table).toBe("tags");
    expect((err as OutOfScopeError).key).toEqual({});
    expect(x.r.status().peers[0]!.outOfScope).toBe(2);
    expect(x.r.status().origins.find((o) => o.peerId === 2)?.highest).toBe(2);
  });

  it("addPeer checks allow against the schema and links nothing when it does not fit", () => {
    const x = open(1, {}, testDriver());
    x.r.migrate([{ up: SCOPE_DDL, down: "DROP TABLE items_patches; DROP TABLE items; DROP TABLE notes_patches; DROP TABLE notes;" }]);
    expect(codeOf(() => x.r.addPeer(2, () => {}, { allow: { items: { name: ["a"] } } }))).toBe("INVALID_SCOPE");
    expect(codeOf(() => x.r.addPeer(2, () => {}, { allow: {} }))).toBe("INVALID_SCOPE");
    expect(codeOf(() => x.r.addPeer(2, () => {}, null as never))).toBe("INVALID_OPTION");
    expect(x.r.status().peers).toEqual([]);
    x.r.addPeer(2, () => {}, {});
    expect(x.r.status().peers[0]!.allow).toBeNull();
  });
});
