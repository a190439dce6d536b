import * as core from "@replic/core";
import { afterEach, describe, expect, it } from "vitest";
import { expectTyped, expectTypedRejection, Harness, ITEMS, type Opened } from "./harness.js";
import type { ConformanceBinding, ReplicaLike } from "./types.js";
import {
  capture,
  cellString,
  dumpTable,
  FakeClock,
  parseToken,
  patchesOf,
  SINK,
  typedRows,
  type Patch,
} from "./util.js";

const T0 = 1_700_000_000_000;

export function basicSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());

  /** The items table as lines of exact cells, without the header. */
  const rowsOf = (o: Opened<Db>, table = "items"): string[] =>
    typedRows(b, o.db, table).map((r) => r.map(cellString).join(" | "));

  const decodePatches = (bytes: Uint8Array): Patch[] => patchesOf(b.adapter.decodeMessage(bytes)).patches;

  describe("basic", () => {
    it("adapter re-exports @replic/core (same classes and functions)", () => {
      const a = b.adapter as unknown as Record<string, unknown>;
      for (const name of ["ReplicError", "SchemaError", "ValidationError", "DecodeError", "TimeoutError", "decodeMessage"]) {
        expect(a[name], `adapter export ${name}`).toBeDefined();
        expect(a[name] === (core as Record<string, unknown>)[name], `adapter ${name} is @replic/core's ${name}`).toBe(true);
      }
      expect(new b.adapter.ValidationError("TYPE_MISMATCH", "x") instanceof b.adapter.ReplicError).toBe(true);
    });

    it("migrate creates the tables and is idempotent", () => {
      const o = h.open();
      const names = () =>
        b
          .all(o.db, `SELECT name FROM sqlite_master WHERE type='table' AND name IN ('items','items_patches') ORDER BY name`)
          .map((r) => r.name);
      expect(names()).toEqual(["items", "items_patches"]);
      o.r.migrate(ITEMS); // already applied: a no-op, not "table already exists"
      expect(names()).toEqual(["items", "items_patches"]);
      // A later migration list with one more entry applies only the new one.
      o.r.migrate([
        ...ITEMS,
        {
          up: `CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
          down: `DROP TABLE tags_patches; DROP TABLE tags;`,
        },
      ]);
      expect(b.all(o.db, `SELECT count(*) AS n FROM sqlite_master WHERE name IN ('tags','tags_patches')`)[0]!.n).toBe(2);
      o.r.upsert("tags", { id: "a", label: "x" });
      expect(rowsOf(o, "tags")).toEqual([`text:"a" | text:"x"`]);
    });

    it("upsert writes the row, returns <peerId>.<seq> tokens with seq 1, 2, 3, ...", () => {
      const o = h.open(ITEMS, { peerId: 42 });
      expect(o.r.peerId).toBe(42);
      const t1 = o.r.upsert("items", { id: 1, qty: 5, price: 2.5, name: "héllo 😀", data: new Uint8Array([0, 255, 7]), deletedAt: null });
      const t2 = o.r.upsert("items", { id: 2, qty: -3 });
      const t3 = o.r.upsert("items", { id: 1, price: 3 });
      expect([t1, t2, t3]).toEqual(["42.1", "42.2", "42.3"]);
      expect(rowsOf(o)).toEqual([
        `int:1 | int:5 | real:3 | text:"héllo 😀" | blob:00ff07 | null`,
        `int:2 | int:-3 | null | null | null | null`,
      ]);
      // One T_patches row per write, stamped with the reserved columns.
      const p = b.all(
        o.db,
        `SELECT _peerId AS peer, _sequenceId AS seq, typeof(_patchedAt) AS ty, _patchedAt > 0 AS pos, id FROM items_patches ORDER BY _sequenceId`,
      );
      expect(p.map((r) => [Number(r.peer), Number(r.seq), r.ty, Number(r.pos), Number(r.id)])).toEqual([
        [42, 1, "integer", 1, 1],
        [42, 2, "integer", 1, 2],
        [42, 3, "integer", 1, 1],
      ]);
    });

    it("partial upserts keep the other columns; explicit null sets NULL", () => {
      const o = h.open();
      o.r.upsert("items", { id: 7, qty: 1, price: 1.5, name: "a", data: new Uint8Array([1]) });
      o.r.upsert("items", { id: 7, name: "b" });
      expect(rowsOf(o)).toEqual([`int:7 | int:1 | real:1.5 | text:"b" | blob:01 | null`]);
      o.r.upsert("items", { id: 7, price: null, data: null });
      expect(rowsOf(o)).toEqual([`int:7 | int:1 | null | text:"b" | null | null`]);
      o.r.upsert("items", { id: 7, qty: 2 });
      expect(rowsOf(o)).toEqual([`int:7 | int:2 | null | text:"b" | null | null`]);
    });

    it("a row exists once any patch touched it (primary key only)", () => {
      const o = h.open();
      o.r.upsert("items", { id: 3 });
      expect(rowsOf(o)).toEqual([`int:3 | null | null | null | null | null`]);
    });

    it("edge values round-trip exactly (bigint, float, empty text/blob, unicode)", () => {
      const a = h.open(ITEMS, { peerId: 1 });
      const bb = h.open(ITEMS, { peerId: 2 });
      a.r.addPeer(2, (m) => bb.r.receive(1, m));
      a.r.upsert("items", { id: 1, qty: 2n ** 62n, price: 0.1, name: "", data: new Uint8Array(0) });
      a.r.upsert("items", { id: 2, qty: -(2n ** 63n), price: 5e-324, name: "日本語\t\n'\"", data: new Uint8Array([0]) });
      a.r.upsert("items", { id: 3, qty: 2n ** 63n - 1n, price: -1.7976931348623157e308, name: "👍🏽", deletedAt: 0 });
      a.r.upsert("items", { id: 4, qty: Number.MAX_SAFE_INTEGER, price: 1e21 });
      const expected = [
        `int:1 | int:4611686018427387904 | real:0.1 | text:"" | blob: | null`,
        `int:2 | int:-9223372036854775808 | real:5e-324 | text:"日本語\\t\\n'\\"" | blob:00 | null`,
        `int:3 | int:9223372036854775807 | real:-1.7976931348623157e+308 | text:"👍🏽" | null | int:0`,
        `int:4 | int:9007199254740991 | real:1e+21 | null | null | null`,
      ];
      expect(rowsOf(a)).toEqual(expected);
      expect(rowsOf(bb)).toEqual(expected);
    });

    const oddTexts: [string, string][] = [
      ["U+0000 inside", "a\u0000b"],
      ["U+0000 only", "\u0000"],
      ["an unpaired high surrogate", "x\uD800y"],
      ["an unpaired low surrogate", "\uDC00"],
      ["a BOM", "\uFEFFz"],
    ];
    for (const [what, text] of oddTexts) {
      it(`text with ${what}: stored exactly and replicated byte-identically, or rejected with ValidationError`, () => {
        const a = h.open(ITEMS, { peerId: 1 });
        const c = h.open(ITEMS, { peerId: 2 });
        const sent = capture(a.r, 2);
        c.r.addPeer(1, () => {});
        let accepted = true;
        try {
          a.r.upsert("items", { id: 1, name: text });
        } catch (e) {
          if (!(e instanceof b.adapter.ValidationError)) throw e;
          accepted = false;
        }
        const stored = (o: Opened<Db>) => b.all(o.db, `SELECT hex(name) AS h FROM items`).map((r) => String(r.h));
        if (!accepted) {
          expect(stored(a), "rejected, yet written").toEqual([]);
          expect(sent.length).toBe(0);
          return;
        }
        for (const m of sent) c.r.receive(1, m);
        expect(stored(c), `bytes stored by the receiver vs by the writer for ${JSON.stringify(text)}`).toEqual(stored(a));
        const wellFormed = !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
        if (wellFormed) {
          const utf8 = Buffer.from(text, "utf8").toString("hex").toUpperCase();
          expect(stored(a), `bytes stored for ${JSON.stringify(text)}`).toEqual([utf8]);
        }
      });
    }

    it("text containing U+0000 is refused everywhere: by upsert and by receive, typed, nothing written", () => {
      // WASM bindings pass text as C strings, so the core refuses U+0000 on every runtime:
      // otherwise a better-sqlite3 or bun peer could write patches a WASM peer can never store.
      const local = h.open(ITEMS, { peerId: 3 });
      const beforeLocal = dumpTable(b, local.db, "items") + dumpTable(b, local.db, "items_patches");
      expectTyped(b, () => local.r.upsert("items", { id: 1, name: "a\u0000b" }), ["ValidationError"], "upsert text with U+0000");
      expect(dumpTable(b, local.db, "items") + dumpTable(b, local.db, "items_patches")).toBe(beforeLocal);

      // The same patch as another runtime's (older) peer could send it: a well-formed message.
      const m = b.adapter.encodeMessage({
        kind: "patches",
        patches: [{ table: "items", peerId: 2, seq: 1, patchedAt: 1_000_000 * 2048, values: { id: 1, name: "a\u0000b" } }],
      });
      expect(decodePatches(m)[0]!.values.name).toBe("a\u0000b");
      const r = h.open(ITEMS, { peerId: 1 });
      r.r.addPeer(2, () => {});
      const before = dumpTable(b, r.db, "items") + dumpTable(b, r.db, "items_patches");
      expectTyped(b, () => r.r.receive(2, m), ["ValidationError"], "receive text with U+0000");
      expect(dumpTable(b, r.db, "items") + dumpTable(b, r.db, "items_patches")).toBe(before);
    });

    it("delete sets deletedAt; setting it back to NULL restores", () => {
      const o = h.open();
      o.r.upsert("items", { id: 1, name: "x" });
      o.r.upsert("items", { id: 1, deletedAt: 1234 });
      expect(rowsOf(o)).toEqual([`int:1 | null | null | text:"x" | null | int:1234`]);
      o.r.upsert("items", { id: 1, deletedAt: null });
      expect(rowsOf(o)).toEqual([`int:1 | null | null | text:"x" | null | null`]);
    });

    it("transaction(): one SQLite transaction, one message, consecutive tokens, returns fn's result", () => {
      const o = h.open(ITEMS, { peerId: 9 });
      const sent = capture(o.r, SINK);
      const result = o.r.transaction(() => [
        o.r.upsert("items", { id: 1, qty: 1 }),
        o.r.upsert("items", { id: 2, qty: 2 }),
        o.r.upsert("items", { id: 1, name: "n" }),
      ]);
      expect(result).toEqual(["9.1", "9.2", "9.3"]);
      expect(sent.length).toBe(1);
      const patches = decodePatches(sent[0]!);
      expect(patches.map((p) => [p.table, p.peerId, p.seq])).toEqual([
        ["items", 9, 1],
        ["items", 9, 2],
        ["items", 9, 3],
      ]);
      expect(rowsOf(o)).toEqual([`int:1 | int:1 | null | text:"n" | null | null`, `int:2 | int:2 | null | null | null | null`]);
    });

    it("transaction(): when fn throws, everything rolls back, nothing is sent, no sequence is consumed", () => {
      const o = h.open(ITEMS, { peerId: 9 });
      const sent = capture(o.r, SINK);
      o.r.upsert("items", { id: 1, qty: 1 });
      const before = dumpTable(b, o.db, "items") + dumpTable(b, o.db, "items_patches");
      expect(() =>
        o.r.transaction(() => {
          o.r.upsert("items", { id: 1, qty: 100 });
          o.r.upsert("items", { id: 2, qty: 200 });
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(dumpTable(b, o.db, "items") + dumpTable(b, o.db, "items_patches")).toBe(before);
      expect(sent.length).toBe(1);
      expect(o.r.upsert("items", { id: 3 })).toBe("9.2");
    });

    it("two linked replicas converge (send delivers straight into the other's receive)", () => {
      const clockA = new FakeClock(T0);
      const clockB = new FakeClock(T0 + 500); // B's clock runs ahead
      const a = h.open(ITEMS, { peerId: 1, now: clockA.now });
      const c = h.open(ITEMS, { peerId: 2, now: clockB.now });
      a.r.addPeer(2, (m) => c.r.receive(1, m));
      c.r.addPeer(1, (m) => a.r.receive(2, m));
      a.r.upsert("items", { id: 1, qty: 1, name: "a" });
      c.r.upsert("items", { id: 1, price: 2.5 });
      c.r.upsert("items", { id: 2, name: "c" });
      clockA.t += 10;
      a.r.upsert("items", { id: 2, name: "a-later-but-older-clock" }); // A's wall clock is behind B's
      a.r.transaction(() => {
        a.r.upsert("items", { id: 3, data: new Uint8Array([3]) });
        a.r.upsert("items", { id: 1, deletedAt: 99 });
      });
      expect(rowsOf(a)).toEqual(rowsOf(c));
      expect(rowsOf(a).length).toBe(3);
      // a received c's write of row 2 before writing its own, so the HLC orders a's write after it.
      expect(rowsOf(a)[1]).toBe(`int:2 | null | null | text:"a-later-but-older-clock" | null | null`);
    });

    it("the hybrid logical clock never goes backwards, also across restarts", () => {
      const clock = new FakeClock(T0 + 60_000);
      const db = h.db();
      const r1 = h.replica(db, { peerId: 5, now: clock.now });
      r1.migrate(ITEMS);
      const sent = capture(r1, SINK);
      r1.upsert("items", { id: 1 });
      clock.t -= 30_000; // wall clock jumps back
      r1.upsert("items", { id: 1 });
      r1.close();
      clock.t -= 20_000;
      const r2 = h.replica(db, { now: clock.now });
      expect(r2.peerId).toBe(5);
      const sent2 = capture(r2, SINK);
      expect(r2.upsert("items", { id: 1 })).toBe("5.3");
      const at = [...sent, ...sent2].flatMap(decodePatches).map((p) => p.patchedAt);
      expect(at.length).toBe(3);
      for (const x of at) expect(Number.isSafeInteger(x) && x > 0).toBe(true);
      expect(at[1]!).toBeGreaterThan(at[0]!);
      expect(at[2]!).toBeGreaterThan(at[1]!);
    });

    it("peerId is generated (uint32) and persisted when absent; close() leaves the database open", () => {
      const db = h.db();
      const r1 = h.replica(db);
      r1.migrate(ITEMS);
      const id = r1.peerId;
      expect(Number.isInteger(id) && id >= 0 && id <= 0xffffffff).toBe(true);
      expect(r1.upsert("items", { id: 1 })).toBe(`${id}.1`);
      r1.close();
      expect(b.all(db, `SELECT count(*) AS n FROM items`)[0]!.n).toBe(1); // handle still usable
      const r2 = h.replica(db);
      r2.migrate(ITEMS);
      expect(r2.peerId).toBe(id);
      expect(r2.upsert("items", { id: 2 })).toBe(`${id}.2`);
    });

    it("removePeer stops sending on that link", () => {
      const o = h.open(ITEMS, { peerId: 1 });
      const sent = capture(o.r, 2);
      o.r.upsert("items", { id: 1 });
      expect(sent.length).toBe(1);
      o.r.removePeer(2);
      o.r.upsert("items", { id: 2 });
      o.r.tick();
      expect(sent.length).toBe(1);
    });

    it("waitFor resolves once the token's write is merged, rejects with TimeoutError otherwise", async () => {
      const a = h.open(ITEMS, { peerId: 1 });
      const c = h.open(ITEMS, { peerId: 2 });
      const queue: Uint8Array[] = [];
      a.r.addPeer(2, (m) => queue.push(new Uint8Array(m)));
      c.r.addPeer(1, () => {});
      const token = a.r.upsert("items", { id: 1, qty: 1 });
      await a.r.waitFor(token, 50); // own write: already merged
      await expectTypedRejection(b, c.r.waitFor(token, 30), "TimeoutError", "waitFor before delivery");
      const pending = c.r.waitFor(token, 5_000);
      for (const m of queue.splice(0)) c.r.receive(1, m);
      await pending;
      expect(rowsOf(c)).toEqual(rowsOf(a));
    });

    it("recovers lost messages through tick() heartbeats (anti-entropy)", () => {
      const a = h.open(ITEMS, { peerId: 1 });
      const c = h.open(ITEMS, { peerId: 2 });
      const queue: { to: ReplicaLike; from: number; m: Uint8Array }[] = [];
      let dropAtoC = true;
      a.r.addPeer(2, (m) => {
        if (!dropAtoC) queue.push({ to: c.r, from: 1, m: new Uint8Array(m) });
      });
      c.r.addPeer(1, (m) => queue.push({ to: a.r, from: 2, m: new Uint8Array(m) }));
      for (let i = 1; i <= 5; i++) a.r.upsert("items", { id: i, qty: i }); // all lost, the tail too
      a.r.transaction(() => a.r.upsert("items", { id: 1, name: "last" }));
      dropAtoC = false;
      expect(rowsOf(c)).toEqual([]);
      for (let round = 0; round < 10; round++) {
        a.r.tick();
        c.r.tick();
        for (let n = 0; queue.length > 0 && n < 10_000; n++) {
          const x = queue.shift()!;
          x.to.receive(x.from, x.m);
        }
      }
      expect(rowsOf(c)).toEqual(rowsOf(a));
      expect(rowsOf(c).length).toBe(5);
    });

    it("relays patches through a hub and fills gaps from a non-origin peer", () => {
      const a = h.open(ITEMS, { peerId: 1 });
      const hub = h.open(ITEMS, { peerId: 2 });
      const c = h.open(ITEMS, { peerId: 3 });
      const queue: { to: ReplicaLike; from: number; m: Uint8Array }[] = [];
      let dropHubToC = true;
      const link = (x: Opened<Db>, y: Opened<Db>, drop?: () => boolean) =>
        x.r.addPeer(y.r.peerId, (m) => {
          if (!drop?.()) queue.push({ to: y.r, from: x.r.peerId, m: new Uint8Array(m) });
        });
      link(a, hub);
      link(hub, a);
      link(hub, c, () => dropHubToC);
      link(c, hub);
      const pump = () => {
        for (let n = 0; queue.length > 0 && n < 10_000; n++) {
          const x = queue.shift()!;
          x.to.receive(x.from, x.m);
        }
      };
      a.r.upsert("items", { id: 1, qty: 1 });
      a.r.upsert("items", { id: 2, name: "two" });
      pump();
      expect(rowsOf(hub)).toEqual(rowsOf(a));
      expect(rowsOf(c)).toEqual([]); // hub -> c was down
      dropHubToC = false;
      c.r.upsert("items", { id: 3, price: 0.5 });
      a.r.upsert("items", { id: 4 });
      pump();
      for (let round = 0; round < 10; round++) {
        a.r.tick();
        hub.r.tick();
        c.r.tick();
        pump();
      }
      expect(rowsOf(c).length).toBe(4);
      expect(rowsOf(c)).toEqual(rowsOf(a));
      expect(rowsOf(hub)).toEqual(rowsOf(a));
    });

    it("status() and metrics() report", () => {
      const o = h.open(ITEMS, { peerId: 1 });
      capture(o.r, 2);
      o.r.upsert("items", { id: 1 });
      const status = o.r.status();
      expect(typeof status).toBe("object");
      expect(status).not.toBeNull();
      const metrics = o.r.metrics();
      expect(typeof metrics).toBe("string");
      expect(metrics).toMatch(/^# TYPE /m);
    });

    it("decodeMessage returns the agreed Patch shape", () => {
      const o = h.open(ITEMS, { peerId: 11 });
      const sent = capture(o.r, SINK);
      o.r.upsert("items", { id: 1, name: "x", price: null });
      const decoded = b.adapter.decodeMessage(sent[0]!) as { kind: string; patches: Patch[] };
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
