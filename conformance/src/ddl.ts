import { afterEach, describe, expect, it } from "vitest";
import type { ConformanceBinding } from "./types.js";
import { q, SINK } from "./util.js";
import { captureAsync as capture, syncWorld, type World } from "./world.js";

const RESERVED = ["_patchedAt", "_sequenceId", "_peerId"];

const TABLES: { name: string; ddl: string; rows: Record<string, unknown>[] }[] = [
  {
    name: "widgets",
    ddl: `CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT, price REAL, data BLOB, amount NUMERIC, deletedAt INTEGER)`,
    rows: [
      { id: 1, name: "w", price: 1.25, data: new Uint8Array([9, 8]) },
      { id: 2, amount: 5 },
      { id: 1, price: null, deletedAt: 77 },
    ],
  },
  {
    name: "odd name",
    ddl: `CREATE TABLE "odd name" ("the key" TEXT NOT NULL, k2 INTEGER NOT NULL, "val""q" TEXT, PRIMARY KEY ("the key", k2))`,
    rows: [
      { "the key": "a", k2: 1, 'val"q': "x" },
      { "the key": "a", k2: 2 },
      { "the key": "a", k2: 1, 'val"q': null },
    ],
  },
];

export function ddlSuite<Db>(b: ConformanceBinding<Db>): void {
  ddlBlock(syncWorld(b));
}

/** patchesDdl on any world. */
export function ddlBlock(w: World): void {
  afterEach(() => w.closeAll());

  describe("patchesDdl", () => {
    for (const t of TABLES) {
      it(`prints working ${t.name}_patches DDL for ${JSON.stringify(t.name)}`, async () => {
        const setup = async () => {
          const db = await w.db();
          await db.exec(t.ddl);
          const ddl = await db.patchesDdl(t.name);
          expect(typeof ddl).toBe("string");
          expect(ddl).toMatch(/CREATE TABLE/i);
          await db.exec(ddl);
          return { db, ddl };
        };
        const { db, ddl } = await setup();
        expect(ddl).toContain(`${t.name}_patches`);

        // Same columns with the same declared types (so values get the same affinity), plus the
        // reserved ones.
        const tCols = await db.columns(t.name);
        const patchesLit = `'${`${t.name}_patches`.replace(/'/g, "''")}'`;
        const pInfo = await db.all(`SELECT name, type, "notnull" AS nn FROM pragma_table_info(${patchesLit})`);
        const byName = new Map(pInfo.map((r) => [String(r.name), r]));
        for (const c of tCols) {
          const p = byName.get(c.name);
          expect(p, `column ${c.name} in ${t.name}_patches`).toBeDefined();
          expect(String(p!.type).toUpperCase(), `declared type of ${c.name}`).toBe(c.type.toUpperCase());
          // A patch leaves out the columns its writer did not set: those must accept NULL. (Every
          // patch carries the primary key, so NOT NULL on key columns is allowed.)
          if (c.pk === 0) expect(Number(p!.nn), `${c.name} nullable in ${t.name}_patches`).toBe(0);
        }
        for (const r of RESERVED) expect(byName.has(r), `reserved column ${r}`).toBe(true);
        // "+ recommended indexes": at least one index on the patches table.
        expect((await db.all(`SELECT name FROM pragma_index_list(${patchesLit})`)).length, `indexes on ${t.name}_patches`).toBeGreaterThan(0);

        // A replica opened on these tables works and replicates to another built the same way.
        const r1 = await w.replica(db, { peerId: 1 });
        const sent = await capture(r1, SINK);
        const tokens: string[] = [];
        for (const row of t.rows) tokens.push(await r1.upsert(t.name, row));
        expect(tokens).toEqual(["1.1", "1.2", "1.3"]);
        const other = await setup();
        const r2 = await w.replica(other.db, { peerId: 2 });
        await r2.addPeer(1, () => {});
        for (const m of sent) await r2.receive(1, m);
        expect(await other.db.dumpTable(t.name)).toBe(await db.dumpTable(t.name));
        expect((await db.typedRows(t.name)).length).toBe(2);
        const seqs = (await db.all(`SELECT _sequenceId AS s FROM ${q(`${t.name}_patches`)} ORDER BY 1`)).map((r) => Number(r.s));
        expect(seqs).toEqual([1, 2, 3]);
      });
    }
  });
}
