import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { fail } from "./fail.js";
import { ITEMS, type Migrations } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { envInt, modelDump, parseToken, patchesOf, patchKey, SINK, type Patch } from "./util.js";
import { captureAsync as capture, expectTypedAsync, syncWorld, type World, type WorldOpened, type WorldReplica } from "./world.js";

const ITEMS_PLUS_EXTRAS: Migrations = [
  ...ITEMS,
  {
    up: `CREATE TABLE extras (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE extras_patches (id INTEGER, v TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE extras_patches; DROP TABLE extras;`,
  },
];

/** items with one more column than the receiver knows. */
const ITEMS_WITH_COLOR: Migrations = [
  {
    up:
      `CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, name TEXT, data BLOB, deletedAt INTEGER, color TEXT);\n` +
      `CREATE TABLE items_patches (id INTEGER, qty INTEGER, price REAL, name TEXT, data BLOB, deletedAt INTEGER, color TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE items_patches; DROP TABLE items;`,
  },
];

/** items whose qty is TEXT and name INTEGER: some of its values do not fit the receiver's columns. */
const ITEMS_SWAPPED_TYPES: Migrations = [
  {
    up:
      `CREATE TABLE items (id INTEGER PRIMARY KEY, qty TEXT, price REAL, name INTEGER, data BLOB, deletedAt INTEGER);\n` +
      `CREATE TABLE items_patches (id INTEGER, qty TEXT, price REAL, name INTEGER, data BLOB, deletedAt INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
    down: `DROP TABLE items_patches; DROP TABLE items;`,
  },
];

export function badInputSuite<Db>(b: ConformanceBinding<Db>): void {
  badInputBlock(syncWorld(b));
}

/** Bad input to upsert and receive, and bad schemas, on any world. */
export function badInputBlock(w: World): void {
  afterEach(() => w.closeAll());
  const runs = envInt("REPLIC_PROPERTY_RUNS", 200);

  const diffTables = (before: Record<string, string>, after: Record<string, string>): string[] =>
    [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);

  describe("bad input: upsert", () => {
    const cases: [string, string, unknown][] = [
      ["unknown table", "nope", { id: 1 }],
      ["table name with SQL in it", `items"; DROP TABLE items; --`, { id: 1 }],
      ["the _patches table itself", "items_patches", { id: 1, _patchedAt: 1, _sequenceId: 1, _peerId: 1 }],
      ["unknown column", "items", { id: 1, bogus: 1 }],
      ["a reserved column", "items", { id: 1, _peerId: 5 }],
      ["column name with SQL in it", "items", { id: 1, [`qty" = 1; --`]: 1 }],
      ["missing primary key column", "items", { qty: 1 }],
      ["primary key null", "items", { id: null, qty: 1 }],
      ["primary key of the wrong type", "items", { id: "one" }],
      ["a non-integer number into TEXT (SQLite versions write it as different text)", "items", { id: 1, name: 2.5 }],
      ["Infinity into TEXT", "items", { id: 1, name: Infinity }],
      ["an integer beyond 64 bits", "items", { id: 1, qty: 2n ** 64n }],
      ["text containing U+0000", "items", { id: 1, name: "a\u0000b" }],
      ["object value", "items", { id: 1, name: { a: 1 } }],
      ["array value", "items", { id: 1, data: [1, 2] }],
      ["NaN", "items", { id: 1, price: NaN }],
      ["NaN in an INTEGER column", "items", { id: 1, qty: NaN }],
      ["row is null", "items", null],
      ["row is a number", "items", 42],
      ["row is a string", "items", "id=1"],
      ["row is an array", "items", [1, 2]],
    ];

    for (const [what, table, row] of cases) {
      it(`${what}: ValidationError, nothing written, nothing sent, no sequence consumed`, async () => {
        const o = await w.open(ITEMS, { peerId: 77 });
        const sent = await capture(o.r, SINK);
        await o.r.upsert("items", { id: 1, qty: 1, name: "a" });
        await o.r.upsert("items", { id: 2, price: 2.5 });
        const before = await o.db.dumpDatabase();
        await expectTypedAsync(w, () => o.r.upsert(table, row as Record<string, unknown>), ["ValidationError"], `upsert ${what}`);
        expect(diffTables(before, await o.db.dumpDatabase()), "tables changed by the failed upsert").toEqual([]);
        expect(sent.length, "messages sent by the failed upsert").toBe(2);
        expect(await o.r.upsert("items", { id: 3 })).toBe("77.3");
      });
    }

    it("a failed upsert inside transaction(): the error propagates and the whole transaction rolls back", async () => {
      const o = await w.open(ITEMS, { peerId: 77 });
      const sent = await capture(o.r, SINK);
      await o.r.upsert("items", { id: 1 });
      const before = await o.db.dumpDatabase();
      await expectTypedAsync(
        w,
        () =>
          o.r.transaction([
            { table: "items", row: { id: 2, qty: 2 } },
            { table: "items", row: { id: 3, name: 0.5 } },
          ]),
        ["ValidationError"],
        "transaction with a bad upsert",
      );
      expect(diffTables(before, await o.db.dumpDatabase())).toEqual([]);
      expect(sent.length).toBe(1);
      expect(await o.r.upsert("items", { id: 4 })).toBe("77.2");
    });
  });

  describe("bad input: receive", () => {
    /** A receiver with a few rows of its own, linked to the senders 2..6. */
    async function receiver(): Promise<{ o: WorldOpened; own: Patch[] }> {
      const o = await w.open(ITEMS, { peerId: 1 });
      const sent = await capture(o.r, SINK);
      for (const p of [2, 3, 4, 5, 6]) await o.r.addPeer(p, () => {});
      await o.r.upsert("items", { id: 1, qty: 10, name: "mine" });
      await o.r.upsert("items", { id: 5, price: 0.25, data: new Uint8Array([5]) });
      const own = sent.flatMap((m) => patchesOf(w.adapter.decodeMessage(m)).patches);
      return { o, own };
    }

    /** A valid message from peer 2: a transaction of three patches with every storage class. */
    async function validMessage(): Promise<Uint8Array> {
      const s = await w.open(ITEMS, { peerId: 2 });
      const sent = await capture(s.r, SINK);
      await s.r.transaction([
        { table: "items", row: { id: 1, qty: 2n ** 62n, price: -1.5, name: "from 2", data: new Uint8Array([1, 2, 3]) } },
        { table: "items", row: { id: 2, name: "ünïcödé", deletedAt: null } },
        { table: "items", row: { id: 3, qty: -7, deletedAt: 1234 } },
      ]);
      expect(sent.length).toBe(1);
      return sent[0]!;
    }

    async function messageFrom(peerId: number, migrations: Migrations, write: (r: WorldReplica) => Promise<unknown>): Promise<Uint8Array> {
      const s = await w.open(migrations, { peerId });
      const sent = await capture(s.r, SINK);
      await write(s.r);
      expect(sent.length).toBeGreaterThan(0);
      return sent[sent.length - 1]!;
    }

    /** receive(from, bytes) must throw DecodeError/ValidationError and change nothing. */
    async function expectRejected(o: WorldOpened, from: number, bytes: Uint8Array, what: string) {
      const { error, before, after } = await w.receiveDumped(o, from, bytes);
      await expectTypedAsync(
        w,
        async () => {
          if (error !== undefined) throw error;
        },
        ["DecodeError", "ValidationError"],
        `receive ${what}`,
      );
      expect(diffTables(before, after), `tables changed by receive ${what}`).toEqual([]);
    }

    /**
     * For bytes that may or may not be a well-formed message: if the decoder rejects them,
     * receive must reject them too without writing; if receive throws, it is a typed error and
     * nothing changed; if receive accepts them, the tables equal the model of the receiver's
     * own patches plus the decoded ones. Returns whether the bytes were applied.
     */
    async function expectRejectedOrExact(o: WorldOpened, own: Patch[], bytes: Uint8Array, what: string): Promise<boolean> {
      let decoded: unknown;
      let decodeOk = true;
      try {
        decoded = w.adapter.decodeMessage(bytes);
      } catch (e) {
        decodeOk = false;
        if (!(e instanceof w.adapter.DecodeError)) fail(`decodeMessage(${what}) threw a non-DecodeError: ${String(e)}`);
      }
      const { error: e, before, after } = await w.receiveDumped(o, 2, bytes);
      if (e !== undefined) {
        if (!(e instanceof w.adapter.DecodeError || e instanceof w.adapter.ValidationError)) {
          fail(`receive(${what}) threw an untyped error: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
        }
        expect(diffTables(before, after), `tables changed by rejected ${what}`).toEqual([]);
        return false;
      }
      if (!decodeOk) fail(`receive accepted ${what}, which decodeMessage rejects`);
      const known = new Set(own.map(patchKey));
      const incoming = patchesOf(decoded).patches.filter((p) => p.table === "items" && !known.has(patchKey(p)));
      const cols = await o.db.columns("items");
      expect(await o.db.dumpTable("items"), `tables after accepting ${what}`).toBe(modelDump("items", cols, [...own, ...incoming]));
      return true;
    }

    it("an empty message: DecodeError", async () => {
      const { o } = await receiver();
      await expectRejected(o, 2, new Uint8Array(0), "empty");
      const e = await expectTypedAsync(w, () => o.r.receive(2, new Uint8Array(0)), ["DecodeError"], "empty");
      expect(e.code).toBeTruthy();
    });

    it("every truncation of a valid message (patches and heartbeat): typed error, nothing written", async () => {
      const { o } = await receiver();
      const m = await validMessage();
      const hb = await messageFrom(2, ITEMS, async (r) => {
        await r.upsert("items", { id: 9 });
        await r.tick();
      });
      for (const msg of [m, hb]) {
        for (let len = 0; len < msg.length; len++) {
          const cut = msg.slice(0, len);
          await expectTypedAsync(w, () => w.codec.decodeMessage(cut), ["DecodeError"], `decodeMessage of ${len}/${msg.length} bytes`);
          await expectRejected(o, 2, cut, `first ${len} of ${msg.length} bytes`);
        }
      }
      // After all that, the intact message still applies.
      await o.r.receive(2, m);
      expect((await o.db.all(`SELECT count(*) AS n FROM items`))[0]!.n).toBe(4);
    }, 120_000);

    it("a valid message inside a larger buffer (byteOffset ≠ 0) is read correctly", async () => {
      const a = await receiver();
      const c = await receiver();
      const m = await validMessage();
      const big = new Uint8Array(m.length + 11).fill(0xee);
      big.set(m, 5);
      await a.o.r.receive(2, m);
      await c.o.r.receive(2, big.subarray(5, 5 + m.length));
      expect(await c.o.db.dumpTable("items")).toBe(await a.o.db.dumpTable("items"));
    });

    it("random garbage: typed error and nothing written, or (if it is a well-formed message) applied exactly", async () => {
      let state = await receiver();
      const m = await validMessage();
      const check = async (bytes: Uint8Array, what: string) => {
        if (await expectRejectedOrExact(state.o, state.own, bytes, what)) state = await receiver();
      };
      const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
          await tick();
          await check(bytes, `garbage ${Buffer.from(bytes).toString("hex")}`);
        }),
        { numRuns: runs },
      );
      // A valid header followed by garbage.
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: m.length }), fc.uint8Array({ minLength: 1, maxLength: 64 }), async (keep, tail) => {
          await tick();
          const bytes = new Uint8Array(keep + tail.length);
          bytes.set(m.subarray(0, keep));
          bytes.set(tail, keep);
          await check(bytes, `first ${keep} bytes of a valid message + ${Buffer.from(tail).toString("hex")}`);
        }),
        { numRuns: runs },
      );
    }, 120_000);

    it("every single-byte flip of a valid message: rejected with a typed error, or applied exactly as decoded", async () => {
      let state = await receiver();
      const m = await validMessage();
      let applied = 0;
      let rejected = 0;
      for (let i = 0; i < m.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const bytes = m.slice();
          bytes[i] = bytes[i]! ^ mask;
          if (await expectRejectedOrExact(state.o, state.own, bytes, `byte ${i} ^ 0x${mask.toString(16)}`)) {
            applied++;
            state = await receiver();
          } else rejected++;
        }
      }
      // eslint-disable-next-line no-console
      console.log(`[conformance ${w.name}] byte flips of a ${m.length}-byte message: ${rejected} rejected, ${applied} accepted as a different well-formed message`);
    }, 120_000);
    it("a patch for a table the receiver does not replicate is kept whole, not merged; a valid patch beside it merges", async () => {
      const { o } = await receiver();
      const only = await messageFrom(3, ITEMS_PLUS_EXTRAS, (r) => r.upsert("extras", { id: 1, v: "x" }));
      const before = await o.db.dumpDatabase();
      await o.r.receive(3, only);
      // Only bookkeeping changed: the patch is kept, no replicated table touched.
      expect(diffTables(before, await o.db.dumpDatabase()).filter((t) => !t.startsWith("_replic_"))).toEqual([]);
      const mixed = await messageFrom(5, ITEMS_PLUS_EXTRAS, (r) =>
        r.transaction([
          { table: "items", row: { id: 42, name: "valid" } },
          { table: "extras", row: { id: 2, v: "y" } },
        ]),
      );
      await o.r.receive(5, mixed);
      expect(await o.db.all(`SELECT name FROM items WHERE id = 42`)).toEqual([{ name: "valid" }]);
      const st = (await o.r.status()) as { alienPatches: { table: string; patches: number; columns: Record<string, number> }[] };
      expect(st.alienPatches).toEqual([{ table: "extras", patches: 2, columns: { id: 2, v: 2 } }]);
      expect(await o.r.metrics()).toMatch(/replic_alien_patches\{table="extras"\} 2/);
    });

    it("a patch setting a column the receiver does not have: its known columns merge, the whole patch is kept", async () => {
      const { o } = await receiver();
      const m = await messageFrom(4, ITEMS_WITH_COLOR, (r) =>
        r.transaction([
          { table: "items", row: { id: 43, qty: 1 } },
          { table: "items", row: { id: 44, name: "n", color: "red" } },
        ]),
      );
      await o.r.receive(4, m);
      expect(await o.db.all(`SELECT id, qty, name FROM items WHERE id IN (43, 44) ORDER BY id`)).toEqual([
        { id: 43, qty: 1, name: null },
        { id: 44, qty: null, name: "n" },
      ]);
      const st = (await o.r.status()) as { alienPatches: unknown };
      expect(st.alienPatches).toEqual([{ table: "items", patches: 1, columns: { color: 1 } }]);
    });

    it("a patch with an unknown column and a malformed known value: the whole message is refused", async () => {
      const { o } = await receiver();
      const m = await messageFrom(4, [{ ...ITEMS_WITH_COLOR[0]!, up: ITEMS_WITH_COLOR[0]!.up.replaceAll("name TEXT,", "name REAL,") }], (r) =>
        r.transaction([
          { table: "items", row: { id: 45, qty: 1, color: "blue" } },
          { table: "items", row: { id: 46, name: 0.25, color: "red" } },
        ]),
      );
      await expectRejected(o, 4, m, "alien patch with a non-integer number for TEXT column name");
      expect(((await o.r.status()) as { alienPatches: unknown[] }).alienPatches).toEqual([]);
    });

    it("values of the wrong type for the receiver's columns: typed error, nothing written", async () => {
      const { o } = await receiver();
      // A plain table takes text in an INTEGER column (SQLite stores it); a non-integer number in a
      // TEXT column is refused (its text differs between SQLite versions).
      const realIntoText = await messageFrom(6, ITEMS_SWAPPED_TYPES, (r) => r.upsert("items", { id: 1, name: 123.45 }));
      await expectRejected(o, 6, realIntoText, "non-integer number for TEXT column name");
    });

    it("after rejecting bad input the receiver still merges the valid message", async () => {
      const { o, own } = await receiver();
      const m = await validMessage();
      await expectRejected(o, 2, m.slice(0, m.length - 1), "truncated");
      await o.r.receive(2, m);
      await o.r.receive(2, m); // duplicate
      const incoming = patchesOf(w.adapter.decodeMessage(m)).patches;
      expect(await o.db.dumpTable("items")).toBe(modelDump("items", await o.db.columns("items"), [...own, ...incoming]));
      expect(parseToken(await o.r.upsert("items", { id: 100 })).seq).toBe(3);
    });
  });

  describe("bad schema", () => {
    const cases: [string, string, string[], Record<string, unknown>][] = [
      [
        "T without a primary key",
        `CREATE TABLE gadgets (name TEXT, color TEXT);\n` +
          `CREATE TABLE gadgets_patches (name TEXT, color TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
        ["gadgets"],
        { name: "x", color: "red" },
      ],
      [
        "T_patches missing the reserved column _sequenceId",
        `CREATE TABLE gadgets (id INTEGER PRIMARY KEY, color TEXT);\n` +
          `CREATE TABLE gadgets_patches (id INTEGER, color TEXT, _patchedAt INTEGER, _peerId INTEGER);`,
        ["gadgets", "_sequenceId"],
        { id: 1, color: "red" },
      ],
      [
        "T_patches missing the reserved column _peerId",
        `CREATE TABLE gadgets (id INTEGER PRIMARY KEY, color TEXT);\n` +
          `CREATE TABLE gadgets_patches (id INTEGER, color TEXT, _patchedAt INTEGER, _sequenceId INTEGER);`,
        ["gadgets", "_peerId"],
        { id: 1, color: "red" },
      ],
      [
        "T_patches missing a column of T",
        `CREATE TABLE gadgets (id INTEGER PRIMARY KEY, color TEXT, weight REAL);\n` +
          `CREATE TABLE gadgets_patches (id INTEGER, color TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);`,
        ["gadgets", "weight"],
        { id: 1, color: "red" },
      ],
    ];

    /** Runs the steps in order: the first to throw must throw a SchemaError naming all `names`. */
    async function expectSchemaError(steps: [string, () => Promise<unknown>][], names: string[]) {
      for (const [step, fn] of steps) {
        let thrown: unknown;
        try {
          await fn();
          continue;
        } catch (e) {
          thrown = e;
        }
        if (!(thrown instanceof w.adapter.SchemaError) || !(thrown instanceof w.adapter.ReplicError)) {
          fail(`${step} threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}, expected a SchemaError`);
        }
        const msg = (thrown as Error).message;
        for (const n of names) expect(msg, `SchemaError from ${step} names ${n}`).toContain(n);
        expect(typeof (thrown as { code?: unknown }).code).toBe("string");
        return;
      }
      fail(`no SchemaError from any of: ${steps.map((s) => s[0]).join(", ")}`);
    }

    for (const [what, ddl, names, row] of cases) {
      it(`${what} (tables already there at openReplica): SchemaError naming ${names.join(" and ")}`, async () => {
        const db = await w.db();
        await db.exec(ddl);
        let r: WorldReplica | undefined;
        await expectSchemaError(
          [
            ["openReplica", async () => (r = await w.replica(db, { peerId: 1 }))],
            ["migrate([])", () => r!.migrate([])],
            ["upsert", () => r!.upsert("gadgets", row)],
          ],
          names,
        );
      });

      it(`${what} (tables created by migrate): SchemaError naming ${names.join(" and ")}`, async () => {
        const db = await w.db();
        const r = await w.replica(db, { peerId: 1 });
        await expectSchemaError(
          [
            ["migrate", () => r.migrate([{ up: ddl, down: `DROP TABLE gadgets_patches; DROP TABLE gadgets;` }])],
            ["upsert", () => r.upsert("gadgets", row)],
          ],
          names,
        );
      });
    }
  });
}
