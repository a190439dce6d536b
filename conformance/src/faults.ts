/**
 * Fault injection on every write path (upsert, upsertMany, transaction, receive, migrate, gc):
 * a CHECK / UNIQUE violation (or a refusing trigger) on the second patch, a full database
 * (`PRAGMA max_page_count`), and a driver that throws on its Nth statement, for every N the
 * write reaches. After each failure every table — T, T_patches and every `_replic_` table — and
 * the schema must be exactly as before, the other origins' heads and the sequence unchanged, and
 * the replica usable: the write succeeds once the fault is gone, later writes get the next
 * sequence numbers, and an observer fed everything it sent ends with the same tables.
 */
import { afterEach, describe, expect, it } from "vitest";
import { A, B, EXTRA, faultKit, OPS, SCHEMA, type Messages, type World } from "./fault-kit.js";
import { fail } from "./fail.js";
import { Harness } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { dumpDatabase, dumpTable } from "./util.js";

const USER_TABLES = ["items", "guarded"];

export function faultsSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());
  const { messages, world, run, snapshot, expectUnchanged, expectUsable, sweep } = faultKit(b, h);

  describe("fault injection: a driver that throws on the Nth statement, for every N", () => {
    for (const op of OPS) {
      it(`${op}: each failure leaves every table and the heads as they were; the replica stays usable`, () => {
        const msgs = messages();
        const gc = op === "gc";
        const w = world(msgs, gc ? 60_000 : 0);
        const ref = world(msgs, gc ? 60_000 : 0);
        if (gc) {
          w.clock.t += 3_600_000;
          ref.clock.t += 3_600_000;
        }
        run(ref, op, msgs);
        // The heads of all origins are compared except after the repeated-patch receive, whose
        // fallback can lose them (core-bugs.ts).
        const n = sweep(w, op, msgs, { heads: op !== "receive (repeated patch)" });
        // The write that finally got through did what a clean run did.
        for (const t of USER_TABLES) expect(dumpTable(b, w.db, t), `${op}: ${t} after the write equals a clean run's`).toBe(dumpTable(b, ref.db, t));
        if (op.startsWith("receive")) {
          expect(JSON.stringify(dumpDatabase(b, w.db)), `${op}: every table equals a clean run's`).toBe(JSON.stringify(dumpDatabase(b, ref.db)));
        }
        expectUsable(w, `[${b.name}] ${op} after ${n} injected faults`);
      }, 120_000);
    }
  });

  describe("fault injection: constraint violations on the second patch", () => {
    const expectConstraint = (w: World<Db>, fn: () => void, what: string): void => {
      const before = snapshot(w);
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      if (!(error instanceof b.adapter.ValidationError) || (error as { code?: string }).code !== "CONSTRAINT") {
        fail(`${what}: expected a ValidationError with code CONSTRAINT, got ${String(error)}`);
      }
      expectUnchanged(w, before, what);
    };

    it("upsert, upsertMany and transaction: CHECK and UNIQUE violations change nothing and use no sequence number", () => {
      const w = world(messages());
      expectConstraint(w, () => w.r.upsert("guarded", { id: 30, qty: -1 }), "upsert violating CHECK");
      expectConstraint(w, () => w.r.upsert("guarded", { id: 30, code: "a10" }), "upsert violating UNIQUE");
      expectConstraint(w, () => w.r.upsertMany("guarded", [{ id: 31, qty: 1 }, { id: 32, qty: -2 }, { id: 33, qty: 3 }]), "upsertMany, 2nd row violating CHECK");
      expectConstraint(w, () => w.r.upsertMany("guarded", [{ id: 31, code: "x" }, { id: 32, code: "x" }]), "upsertMany, 2nd row violating UNIQUE");
      expectConstraint(
        w,
        () =>
          w.r.transaction(() => {
            w.r.upsert("items", { id: 34, name: "first" });
            w.r.upsert("guarded", { id: 35, qty: -3 });
          }),
        "transaction, 2nd upsert violating CHECK",
      );
      expectConstraint(
        w,
        () =>
          w.r.transaction(() => {
            w.r.upsert("items", { id: 36 });
            w.r.upsertMany("guarded", [{ id: 37, code: "y" }, { id: 38, code: "a10" }]);
          }),
        "transaction, upsertMany inside violating UNIQUE on its 2nd row",
      );
      expectUsable(w, `[${b.name}] after constraint violations of local writes`);
    });

    it("a violation caught inside transaction(): that write is undone, the others commit with consecutive sequence numbers", () => {
      const w = world(messages());
      const seq = (w.r.status() as { sequence: number }).sequence;
      const tokens = w.r.transaction(() => {
        const t1 = w.r.upsert("items", { id: 40, name: "kept" });
        try {
          w.r.upsert("guarded", { id: 41, qty: -1 });
          fail("the CHECK violation did not throw");
        } catch (e) {
          if (!(e instanceof b.adapter.ValidationError)) throw e;
        }
        try {
          w.r.upsertMany("guarded", [{ id: 42, code: "z" }, { id: 43, code: "z" }]);
          fail("the UNIQUE violation did not throw");
        } catch (e) {
          if (!(e instanceof b.adapter.ValidationError)) throw e;
        }
        return [t1, w.r.upsert("items", { id: 44, name: "kept too" })];
      });
      expect(tokens).toEqual([`${A}.${seq + 1}`, `${A}.${seq + 2}`]);
      expect(b.all(w.db, "SELECT count(*) AS n FROM guarded WHERE id IN (41, 42, 43)")[0]!.n).toBe(0);
      expect(b.all(w.db, `SELECT count(*) AS n FROM guarded_patches WHERE id IN (41, 42, 43)`)[0]!.n).toBe(0);
      expectUsable(w, `[${b.name}] after caught violations inside transaction()`);
    });

    it("receive: a message whose 2nd patch violates CHECK or UNIQUE is applied with that row parked, in any order; a write SQLite refuses refuses the message whole", () => {
      const msgs = messages();
      const w = world(msgs);
      const parked = (x: World<Db>) => (x.r as unknown as { parked(t?: string): { key: Record<string, unknown>; reason: string }[] }).parked("guarded");
      w.r.receive(B, msgs.violatesCheck);
      w.r.receive(B, msgs.violatesUnique);
      // The later claim of "same" (B's next sequence in one transaction) waits; so does the row its CHECK refuses.
      expect(parked(w).map((p) => [p.key.id, p.reason])).toEqual([
        [4, "check"],
        [6, "unique"],
      ]);
      expect(b.all(w.db, "SELECT id FROM guarded WHERE id BETWEEN 3 AND 6 ORDER BY id").map((r) => Number(r.id))).toEqual([3, 5]);
      const ref = world(msgs);
      ref.r.receive(B, msgs.violatesUnique);
      ref.r.receive(B, msgs.violatesCheck);
      w.r.receive(B, msgs.second);
      ref.r.receive(B, msgs.second);
      expect(JSON.stringify(dumpDatabase(b, w.db))).toBe(JSON.stringify(dumpDatabase(b, ref.db)));
      // A write SQLite itself refuses (here a trigger) still refuses the message whole.
      const t = world(msgs);
      b.exec(t.db, `CREATE TRIGGER refuse_guarded BEFORE INSERT ON guarded_patches BEGIN SELECT RAISE(ABORT, 'constraint failed: refused'); END;`);
      expectConstraint(t, () => t.r.receive(B, msgs.violatesCheck), "receive, a patch row refused by a trigger");
      expectUsable(w, `[${b.name}] after messages with parked rows`);
    });

    it("migrate: a migration whose 2nd statement violates a CHECK is rolled back whole", () => {
      const w = world(messages());
      const before = snapshot(w);
      const bad = [{ up: `CREATE TABLE m1 (x INTEGER CHECK (x > 0)); INSERT INTO m1 VALUES (-1);`, down: `DROP TABLE m1;` }];
      let error: unknown;
      try {
        w.r.migrate([...SCHEMA, ...bad]);
      } catch (e) {
        error = e;
      }
      if (!(error instanceof b.adapter.SchemaError)) fail(`migrate: expected a SchemaError, got ${String(error)}`);
      expectUnchanged(w, before, "migrate with a failing 2nd statement");
      w.r.migrate([...SCHEMA, ...EXTRA]);
      w.r.upsert("notes", { id: "n1", body: "after" });
      expectUsable(w, `[${b.name}] after a failed migration`);
    });

    it("gc: a trigger refusing to delete the 2nd patch rolls the whole collection back", () => {
      const w = world(messages(), 60_000);
      w.clock.t += 3_600_000;
      b.exec(w.db, `CREATE TRIGGER refuse_gc BEFORE DELETE ON items_patches WHEN old._sequenceId = 2 BEGIN SELECT RAISE(ABORT, 'constraint failed: kept for audit'); END;`);
      const before = snapshot(w);
      let error: unknown;
      try {
        w.r.gc();
      } catch (e) {
        error = e;
      }
      if (error === undefined) fail("gc succeeded although the trigger refused a delete");
      expectUnchanged(w, before, "gc refused by a trigger");
      b.exec(w.db, `DROP TRIGGER refuse_gc`);
      expect(w.r.gc(), "patches collected once the trigger is gone").toBeGreaterThan(0);
      expectUsable(w, `[${b.name}] after a refused gc`);
    });
  });

  describe("fault injection: a full database (PRAGMA max_page_count)", () => {
    const limit = (db: Db) => b.exec(db, `PRAGMA max_page_count = ${Number(b.all(db, "PRAGMA page_count")[0]!.page_count)}`);
    const unlimit = (db: Db) => b.exec(db, `PRAGMA max_page_count = 1073741823`);
    const big = (k: number) => new Uint8Array(4096).fill(k);
    const cases: [string, (w: World<Db>, m: Messages) => void][] = [
      ["upsert", (w) => void w.r.upsert("items", { id: 60, data: new Uint8Array(256 * 1024) })],
      ["upsertMany", (w) => void w.r.upsertMany("items", Array.from({ length: 40 }, (_, k) => ({ id: 600 + k, data: big(k) })))],
      [
        "transaction",
        (w) =>
          void w.r.transaction(() => {
            w.r.upsert("items", { id: 61, name: "small" });
            for (let k = 0; k < 40; k++) w.r.upsert("items", { id: 700 + k, data: big(k) });
          }),
      ],
      ["receive", (w, m) => w.r.receive(B, m.big)],
      ["migrate", (w) => w.r.migrate([...SCHEMA, ...EXTRA])],
    ];
    for (const [op, fn] of cases) {
      it(`${op}: refused with nothing changed; works again once there is room`, () => {
        const msgs = messages();
        const w = world(msgs);
        limit(w.db);
        const before = snapshot(w);
        let error: unknown;
        try {
          fn(w, msgs);
        } catch (e) {
          error = e;
        }
        if (error === undefined) fail(`${op} succeeded on a full database`);
        if (!/full/i.test(String((error as Error).message ?? error))) fail(`${op}: expected a "database or disk is full" error, got ${String(error)}`);
        expectUnchanged(w, before, `${op} on a full database`);
        unlimit(w.db);
        fn(w, msgs);
        expectUsable(w, `[${b.name}] ${op} after the database was full`);
      }, 60_000);
    }

    it("gc on a full database: collects (it frees pages) or refuses with nothing changed", () => {
      const w = world(messages(), 60_000);
      w.clock.t += 3_600_000;
      limit(w.db);
      const before = snapshot(w);
      let collected = -1;
      try {
        collected = w.r.gc();
      } catch (e) {
        if (!/full/i.test(String((e as Error).message))) throw e;
        expectUnchanged(w, before, "gc on a full database");
      }
      unlimit(w.db);
      if (collected < 0) collected = w.r.gc();
      expect(collected).toBeGreaterThan(0);
      expectUsable(w, `[${b.name}] gc after the database was full`);
    });
  });
}
