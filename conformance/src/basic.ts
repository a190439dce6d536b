import { afterEach, describe, expect, it } from "vitest";
import { ITEMS } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { cellString, FakeClock, patchesOf, SINK, type Patch } from "./util.js";
import { captureAsync as capture, expectTypedAsync, syncWorld, type World, type WorldOpened, type WorldReplica } from "./world.js";

const T0 = 1_700_000_000_000;

export function basicSuite<Db>(b: ConformanceBinding<Db>): void {
  basicBlock(syncWorld(b));
}

/** The basic block on any world (syncWorld for the synchronous bindings). */
export function basicBlock(w: World): void {
  afterEach(() => w.closeAll());

  /** The items table as lines of exact cells, without the header. */
  const rowsOf = async (o: WorldOpened, table = "items"): Promise<string[]> =>
    (await o.db.typedRows(table)).map((r) => r.map(cellString).join(" | "));

  const decodePatches = (bytes: Uint8Array): Patch[] => patchesOf(w.adapter.decodeMessage(bytes)).patches;

  describe("basic", () => {
    it("adapter re-exports @replic/core (same classes and functions)", async () => {
      const names = ["ReplicError", "SchemaError", "ValidationError", "DecodeError", "TimeoutError", "decodeMessage"];
      for (const x of await w.codec.reexports(names)) {
        expect(x.defined, `adapter export ${x.name}`).toBe(true);
        expect(x.same, `adapter ${x.name} is @replic/core's ${x.name}`).toBe(true);
      }
      expect(await w.codec.validationIsReplicError()).toBe(true);
    });

    it("migrate creates the tables and is idempotent", async () => {
      const o = await w.open();
      const names = async () =>
        (await o.db.all(`SELECT name FROM sqlite_master WHERE type='table' AND name IN ('items','items_patches') ORDER BY name`)).map((r) => r.name);
      expect(await names()).toEqual(["items", "items_patches"]);
      await o.r.migrate(ITEMS); // already applied: a no-op, not "table already exists"
      expect(await names()).toEqual(["items", "items_patches"]);
      // A later migration list with one more entry applies only the new one.
      await o.r.migrate([
        ...ITEMS,
        {
          up: `CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
          down: `DROP TABLE tags_patches; DROP TABLE tags;`,
        },
      ]);
      expect((await o.db.all(`SELECT count(*) AS n FROM sqlite_master WHERE name IN ('tags','tags_patches')`))[0]!.n).toBe(2);
      await o.r.upsert("tags", { id: "a", label: "x" });
      expect(await rowsOf(o, "tags")).toEqual([`text:"a" | text:"x"`]);
    });

    it("upsert writes the row, returns <peerId>.<seq> tokens with seq 1, 2, 3, ...", async () => {
      const o = await w.open(ITEMS, { peerId: 42 });
      expect(o.r.peerId).toBe(42);
      const t1 = await o.r.upsert("items", { id: 1, qty: 5, price: 2.5, name: "héllo 😀", data: new Uint8Array([0, 255, 7]), deletedAt: null });
      const t2 = await o.r.upsert("items", { id: 2, qty: -3 });
      const t3 = await o.r.upsert("items", { id: 1, price: 3 });
      expect([t1, t2, t3]).toEqual(["42.1", "42.2", "42.3"]);
      expect(await rowsOf(o)).toEqual([
        `int:1 | int:5 | real:3 | text:"héllo 😀" | blob:00ff07 | null`,
        `int:2 | int:-3 | null | null | null | null`,
      ]);
      // One T_patches row per write, stamped with the reserved columns.
      const p = await o.db.all(
        `SELECT _peerId AS peer, _sequenceId AS seq, typeof(_patchedAt) AS ty, _patchedAt > 0 AS pos, id FROM items_patches ORDER BY _sequenceId`,
      );
      expect(p.map((r) => [Number(r.peer), Number(r.seq), r.ty, Number(r.pos), Number(r.id)])).toEqual([
        [42, 1, "integer", 1, 1],
        [42, 2, "integer", 1, 2],
        [42, 3, "integer", 1, 1],
      ]);
    });

    it("partial upserts keep the other columns; explicit null sets NULL", async () => {
      const o = await w.open();
      await o.r.upsert("items", { id: 7, qty: 1, price: 1.5, name: "a", data: new Uint8Array([1]) });
      await o.r.upsert("items", { id: 7, name: "b" });
      expect(await rowsOf(o)).toEqual([`int:7 | int:1 | real:1.5 | text:"b" | blob:01 | null`]);
      await o.r.upsert("items", { id: 7, price: null, data: null });
      expect(await rowsOf(o)).toEqual([`int:7 | int:1 | null | text:"b" | null | null`]);
      await o.r.upsert("items", { id: 7, qty: 2 });
      expect(await rowsOf(o)).toEqual([`int:7 | int:2 | null | text:"b" | null | null`]);
    });

    it("a row exists once any patch touched it (primary key only)", async () => {
      const o = await w.open();
      await o.r.upsert("items", { id: 3 });
      expect(await rowsOf(o)).toEqual([`int:3 | null | null | null | null | null`]);
    });

    it("edge values round-trip exactly (bigint, float, empty text/blob, unicode)", async () => {
      const a = await w.open(ITEMS, { peerId: 1 });
      const bb = await w.open(ITEMS, { peerId: 2 });
      await a.r.addPeer(2, (m) => bb.r.receive(1, m));
      await a.r.upsert("items", { id: 1, qty: 2n ** 62n, price: 0.1, name: "", data: new Uint8Array(0) });
      await a.r.upsert("items", { id: 2, qty: -(2n ** 63n), price: 5e-324, name: "日本語\t\n'\"", data: new Uint8Array([0]) });
      await a.r.upsert("items", { id: 3, qty: 2n ** 63n - 1n, price: -1.7976931348623157e308, name: "👍🏽", deletedAt: 0 });
      await a.r.upsert("items", { id: 4, qty: Number.MAX_SAFE_INTEGER, price: 1e21 });
      const expected = [
        `int:1 | int:4611686018427387904 | real:0.1 | text:"" | blob: | null`,
        `int:2 | int:-9223372036854775808 | real:5e-324 | text:"日本語\\t\\n'\\"" | blob:00 | null`,
        `int:3 | int:9223372036854775807 | real:-1.7976931348623157e+308 | text:"👍🏽" | null | int:0`,
        `int:4 | int:9007199254740991 | real:1e+21 | null | null | null`,
      ];
      expect(await rowsOf(a)).toEqual(expected);
      expect(await rowsOf(bb)).toEqual(expected);
    });

    const oddTexts: [string, string][] = [
      ["U+0000 inside", "a\u0000b"],
      ["U+0000 only", "\u0000"],
      ["an unpaired high surrogate", "x\uD800y"],
      ["an unpaired low surrogate", "\uDC00"],
      ["a BOM", "\uFEFFz"],
    ];
    for (const [what, text] of oddTexts) {
      it(`text with ${what}: stored exactly and replicated byte-identically, or rejected with ValidationError`, async () => {
        const a = await w.open(ITEMS, { peerId: 1 });
        const c = await w.open(ITEMS, { peerId: 2 });
        const sent = await capture(a.r, 2);
        await c.r.addPeer(1, () => {});
        let accepted = true;
        try {
          await a.r.upsert("items", { id: 1, name: text });
        } catch (e) {
          if (!(e instanceof w.adapter.ValidationError)) throw e;
          accepted = false;
        }
        const stored = async (o: WorldOpened) => (await o.db.all(`SELECT hex(name) AS h FROM items`)).map((r) => String(r.h));
        if (!accepted) {
          expect(await stored(a), "rejected, yet written").toEqual([]);
          expect(sent.length).toBe(0);
          return;
        }
        for (const m of sent) await c.r.receive(1, m);
        expect(await stored(c), `bytes stored by the receiver vs by the writer for ${JSON.stringify(text)}`).toEqual(await stored(a));
        const wellFormed = !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
        if (wellFormed) {
          const utf8 = Buffer.from(text, "utf8").toString("hex").toUpperCase();
          expect(await stored(a), `bytes stored for ${JSON.stringify(text)}`).toEqual([utf8]);
        }
      });
    }

    it("text containing U+0000 is refused everywhere: by upsert and by receive, typed, nothing written", async () => {
      // WASM bindings pass text as C strings, so the core refuses U+0000 on every runtime:
      // otherwise a better-sqlite3 or bun peer could write patches a WASM peer can never store.
      const local = await w.open(ITEMS, { peerId: 3 });
      const dump = async (o: WorldOpened) => (await o.db.dumpTable("items")) + (await o.db.dumpTable("items_patches"));
      const beforeLocal = await dump(local);
      await expectTypedAsync(w, () => local.r.upsert("items", { id: 1, name: "a\u0000b" }), ["ValidationError"], "upsert text with U+0000");
      expect(await dump(local)).toBe(beforeLocal);

      // The same patch as another runtime's (older) peer could send it: a well-formed message.
      const m = w.adapter.encodeMessage({
        kind: "patches",
        patches: [{ table: "items", peerId: 2, seq: 1, patchedAt: 1_000_000 * 2048, values: { id: 1, name: "a\u0000b" } }],
      });
      expect(decodePatches(m)[0]!.values.name).toBe("a\u0000b");
      const r = await w.open(ITEMS, { peerId: 1 });
      await r.r.addPeer(2, () => {});
      const before = await dump(r);
      await expectTypedAsync(w, () => r.r.receive(2, m), ["ValidationError"], "receive text with U+0000");
      expect(await dump(r)).toBe(before);
    });

    it("delete sets deletedAt; setting it back to NULL restores", async () => {
      const o = await w.open();
      await o.r.upsert("items", { id: 1, name: "x" });
      await o.r.upsert("items", { id: 1, deletedAt: 1234 });
      expect(await rowsOf(o)).toEqual([`int:1 | null | null | text:"x" | null | int:1234`]);
      await o.r.upsert("items", { id: 1, deletedAt: null });
      expect(await rowsOf(o)).toEqual([`int:1 | null | null | text:"x" | null | null`]);
    });

    it("transaction(): one SQLite transaction, one message, consecutive tokens, returns fn's result", async () => {
      const o = await w.open(ITEMS, { peerId: 9 });
      const sent = await capture(o.r, SINK);
      const result = await o.r.transaction([
        { table: "items", row: { id: 1, qty: 1 } },
        { table: "items", row: { id: 2, qty: 2 } },
        { table: "items", row: { id: 1, name: "n" } },
      ]);
      expect(result).toEqual(["9.1", "9.2", "9.3"]);
      expect(sent.length).toBe(1);
      const patches = decodePatches(sent[0]!);
      expect(patches.map((p) => [p.table, p.peerId, p.seq])).toEqual([
        ["items", 9, 1],
        ["items", 9, 2],
        ["items", 9, 3],
      ]);
      expect(await rowsOf(o)).toEqual([`int:1 | int:1 | null | text:"n" | null | null`, `int:2 | int:2 | null | null | null | null`]);
    });

    it("transaction(): when fn throws, everything rolls back, nothing is sent, no sequence is consumed", async () => {
      const o = await w.open(ITEMS, { peerId: 9 });
      const sent = await capture(o.r, SINK);
      await o.r.upsert("items", { id: 1, qty: 1 });
      const dump = async () => (await o.db.dumpTable("items")) + (await o.db.dumpTable("items_patches"));
      const before = await dump();
      await expect(
        (async () =>
          o.r.transaction(
            [
              { table: "items", row: { id: 1, qty: 100 } },
              { table: "items", row: { id: 2, qty: 200 } },
            ],
            "boom",
          ))(),
      ).rejects.toThrow("boom");
      expect(await dump()).toBe(before);
      expect(sent.length).toBe(1);
      expect(await o.r.upsert("items", { id: 3 })).toBe("9.2");
    });

    it("two linked replicas converge (send delivers straight into the other's receive)", async () => {
      const clockA = new FakeClock(T0);
      const clockB = new FakeClock(T0 + 500); // B's clock runs ahead
      const a = await w.open(ITEMS, { peerId: 1, now: clockA.now });
      const c = await w.open(ITEMS, { peerId: 2, now: clockB.now });
      await a.r.addPeer(2, (m) => c.r.receive(1, m));
      await c.r.addPeer(1, (m) => a.r.receive(2, m));
      await a.r.upsert("items", { id: 1, qty: 1, name: "a" });
      await c.r.upsert("items", { id: 1, price: 2.5 });
      await c.r.upsert("items", { id: 2, name: "c" });
      clockA.t += 10;
      await a.r.upsert("items", { id: 2, name: "a-later-but-older-clock" }); // A's wall clock is behind B's
      await a.r.transaction([
        { table: "items", row: { id: 3, data: new Uint8Array([3]) } },
        { table: "items", row: { id: 1, deletedAt: 99 } },
      ]);
      expect(await rowsOf(a)).toEqual(await rowsOf(c));
      expect((await rowsOf(a)).length).toBe(3);
      // a received c's write of row 2 before writing its own, so the HLC orders a's write after it.
      expect((await rowsOf(a))[1]).toBe(`int:2 | null | null | text:"a-later-but-older-clock" | null | null`);
    });

    it("the hybrid logical clock never goes backwards, also across restarts", async () => {
      const clock = new FakeClock(T0 + 60_000);
      const db = await w.db();
      const r1 = await w.replica(db, { peerId: 5, now: clock.now });
      await r1.migrate(ITEMS);
      const sent = await capture(r1, SINK);
      await r1.upsert("items", { id: 1 });
      clock.t -= 30_000; // wall clock jumps back
      await r1.upsert("items", { id: 1 });
      await r1.close();
      clock.t -= 20_000;
      const r2 = await w.replica(db, { now: clock.now });
      expect(r2.peerId).toBe(5);
      const sent2 = await capture(r2, SINK);
      expect(await r2.upsert("items", { id: 1 })).toBe("5.3");
      const at = [...sent, ...sent2].flatMap(decodePatches).map((p) => p.patchedAt);
      expect(at.length).toBe(3);
      for (const x of at) expect(Number.isSafeInteger(x) && x > 0).toBe(true);
      expect(at[1]!).toBeGreaterThan(at[0]!);
      expect(at[2]!).toBeGreaterThan(at[1]!);
    });

    it("peerId is generated (uint32) and persisted when absent; close() leaves the database open", async () => {
      const db = await w.db();
      const r1 = await w.replica(db);
      await r1.migrate(ITEMS);
      const id = r1.peerId;
      expect(Number.isInteger(id) && id >= 0 && id <= 0xffffffff).toBe(true);
      expect(await r1.upsert("items", { id: 1 })).toBe(`${id}.1`);
      await r1.close();
      expect((await db.all(`SELECT count(*) AS n FROM items`))[0]!.n).toBe(1); // handle still usable
      const r2 = await w.replica(db);
      await r2.migrate(ITEMS);
      expect(r2.peerId).toBe(id);
      expect(await r2.upsert("items", { id: 2 })).toBe(`${id}.2`);
    });

    it("removePeer stops sending on that link", async () => {
      const o = await w.open(ITEMS, { peerId: 1 });
      const sent = await capture(o.r, 2);
      await o.r.upsert("items", { id: 1 });
      expect(sent.length).toBe(1);
      await o.r.removePeer(2);
      await o.r.upsert("items", { id: 2 });
      await o.r.tick();
      expect(sent.length).toBe(1);
    });

    it("waitFor resolves once the token's write is merged, rejects with TimeoutError otherwise", async () => {
      const a = await w.open(ITEMS, { peerId: 1 });
      const c = await w.open(ITEMS, { peerId: 2 });
      const queue: Uint8Array[] = [];
      await a.r.addPeer(2, (m) => queue.push(new Uint8Array(m)));
      await c.r.addPeer(1, () => {});
      const token = await a.r.upsert("items", { id: 1, qty: 1 });
      await a.r.waitFor(token, 50); // own write: already merged
      await expectTypedAsync(w, () => c.r.waitFor(token, 30), ["TimeoutError"], "waitFor before delivery");
      const pending = c.r.waitFor(token, 5_000);
      for (const m of queue.splice(0)) await c.r.receive(1, m);
      await pending;
      expect(await rowsOf(c)).toEqual(await rowsOf(a));
    });

    it("recovers lost messages through tick() heartbeats (anti-entropy)", async () => {
      const a = await w.open(ITEMS, { peerId: 1 });
      const c = await w.open(ITEMS, { peerId: 2 });
      const queue: { to: WorldReplica; from: number; m: Uint8Array }[] = [];
      let dropAtoC = true;
      await a.r.addPeer(2, (m) => {
        if (!dropAtoC) queue.push({ to: c.r, from: 1, m: new Uint8Array(m) });
      });
      await c.r.addPeer(1, (m) => queue.push({ to: a.r, from: 2, m: new Uint8Array(m) }));
      for (let i = 1; i <= 5; i++) await a.r.upsert("items", { id: i, qty: i }); // all lost, the tail too
      await a.r.transaction([{ table: "items", row: { id: 1, name: "last" } }]);
      dropAtoC = false;
      expect(await rowsOf(c)).toEqual([]);
      for (let round = 0; round < 10; round++) {
        await a.r.tick();
        await c.r.tick();
        for (let n = 0; queue.length > 0 && n < 10_000; n++) {
          const x = queue.shift()!;
          await x.to.receive(x.from, x.m);
        }
      }
      expect(await rowsOf(c)).toEqual(await rowsOf(a));
      expect((await rowsOf(c)).length).toBe(5);
    });

    it("relays patches through a hub and fills gaps from a non-origin peer", async () => {
      const a = await w.open(ITEMS, { peerId: 1 });
      const hub = await w.open(ITEMS, { peerId: 2 });
      const c = await w.open(ITEMS, { peerId: 3 });
      const queue: { to: WorldReplica; from: number; m: Uint8Array }[] = [];
      let dropHubToC = true;
      const link = (x: WorldOpened, y: WorldOpened, drop?: () => boolean) =>
        x.r.addPeer(y.r.peerId, (m) => {
          if (!drop?.()) queue.push({ to: y.r, from: x.r.peerId, m: new Uint8Array(m) });
        });
      await link(a, hub);
      await link(hub, a);
      await link(hub, c, () => dropHubToC);
      await link(c, hub);
      const pump = async () => {
        for (let n = 0; queue.length > 0 && n < 10_000; n++) {
          const x = queue.shift()!;
          await x.to.receive(x.from, x.m);
        }
      };
      await a.r.upsert("items", { id: 1, qty: 1 });
      await a.r.upsert("items", { id: 2, name: "two" });
      await pump();
      expect(await rowsOf(hub)).toEqual(await rowsOf(a));
      expect(await rowsOf(c)).toEqual([]); // hub -> c was down
      dropHubToC = false;
      await c.r.upsert("items", { id: 3, price: 0.5 });
      await a.r.upsert("items", { id: 4 });
      await pump();
      for (let round = 0; round < 10; round++) {
        await a.r.tick();
        await hub.r.tick();
        await c.r.tick();
        await pump();
      }
      expect((await rowsOf(c)).length).toBe(4);
      expect(await rowsOf(c)).toEqual(await rowsOf(a));
      expect(await rowsOf(hub)).toEqual(await rowsOf(a));
    });

    it("status() and metrics() report", async () => {
      const o = await w.open(ITEMS, { peerId: 1 });
      await capture(o.r, 2);
      await o.r.upsert("items", { id: 1 });
      const status = await o.r.status();
      expect(typeof status).toBe("object");
      expect(status).not.toBeNull();
      const metrics = await o.r.metrics();
      expect(typeof metrics).toBe("string");
      expect(metrics).toMatch(/^# TYPE /m);
    });

    it("decodeMessage returns the agreed Patch shape", async () => {
      const o = await w.open(ITEMS, { peerId: 11 });
      const sent = await capture(o.r, SINK);
      await o.r.upsert("items", { id: 1, name: "x", price: null });
      const decoded = (await w.codec.decodeMessage(sent[0]!)) as { kind: string; patches: Patch[] };
      expect(decoded.kind).toBe("patches");
      expect(patchesOf(decoded).shapeOk).toBe(true);
      const p = decoded.patches[0]!;
      expect(p.table).toBe("items");
      expect(p.peerId).toBe(11);
      expect(p.seq).toBe(1);
      expect(Number.isSafeInteger(p.patchedAt)).toBe(true);
      expect(p.values).toEqual({ id: 1, name: "x", price: null });
    });
  });
}
