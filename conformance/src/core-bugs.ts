/**
 * Core bugs the fault-injection tests found in the first core (each test names the code path that
 * was at fault there); core v2 fixed them: rollbacks restore heads from an in-memory snapshot, a
 * failed ROLLBACK is retried once and otherwise marks the replica BROKEN. Kept as regressions.
 */
import { afterEach, describe, expect, it } from "vitest";
import { A, faultKit, type World } from "./fault-kit.js";
import { fail } from "./fail.js";
import { Harness } from "./harness.js";
import type { ConformanceBinding } from "./types.js";
import { capture, SINK } from "./util.js";

export function coreBugsSuite<Db>(b: ConformanceBinding<Db>): void {
  const h = new Harness(b);
  afterEach(() => h.closeAll());
  const kit = faultKit(b, h);

  /** A fresh link each time: its first heartbeat is a full one (later ones carry only changes). */
  let listener = 4_000_000_002;
  /** The own head as status(), a heartbeat and waitFor see it. */
  async function expectOwnHead(w: World<Db>, contiguous: number, what: string): Promise<void> {
    const s = w.r.status() as { origins: { peerId: number; contiguous: number; highest: number }[] };
    const own = s.origins.find((o) => o.peerId === A);
    expect(own ? `${own.contiguous}/${own.highest}` : "absent", `${what}: status() own head`).toBe(`${contiguous}/${contiguous}`);
    const sent = capture(w.r, listener++);
    w.r.tick();
    const hb = sent.map((m) => b.adapter.decodeMessage(m) as { kind: string; heads?: { peerId: number; contiguous: number }[] }).find((m) => m.kind === "heartbeat");
    expect(hb?.heads?.find((x) => x.peerId === A)?.contiguous, `${what}: own head in the heartbeat`).toBe(contiguous);
    let waited = "resolved";
    await w.r.waitFor(`${A}.${contiguous}`, 50).catch((e: Error) => (waited = e.name));
    expect(waited, `${what}: waitFor(own last token)`).toBe("resolved");
  }

  describe("regressions: core bugs found by fault injection (fixed in core v2)", () => {
    it("replica.ts mergeMessage catch → loadOrigins(): a refused message drops the replica's own head (status, heartbeat, waitFor)", async () => {
      const msgs = kit.messages();
      const w = kit.world(msgs);
      await expectOwnHead(w, 3, "before");
      // (A CHECK violation no longer refuses a message: the row is parked. A trigger still does.)
      b.exec(w.db, `CREATE TRIGGER refuse_guarded BEFORE INSERT ON guarded_patches BEGIN SELECT RAISE(ABORT, 'constraint failed: refused'); END;`);
      expect(() => w.r.receive(20, msgs.violatesCheck)).toThrow();
      await expectOwnHead(w, 3, "after a receive refused by a trigger");
    });

    it("replica.ts gc catch → loadOrigins(): a failed gc drops the replica's own head", async () => {
      const w = kit.world(kit.messages(), 60_000);
      w.clock.t += 3_600_000;
      b.exec(w.db, `CREATE TRIGGER refuse_gc BEFORE DELETE ON items_patches WHEN old._sequenceId = 2 BEGIN SELECT RAISE(ABORT, 'constraint failed'); END;`);
      expect(() => w.r.gc()).toThrow();
      await expectOwnHead(w, 3, "after a failed gc");
    });

    it("replica.ts applyPatches: a statement failing while mergeMessage reloads heads after DuplicateInBatchError leaves status().origins empty", () => {
      const msgs = kit.messages();
      const w = kit.world(msgs);
      kit.sweep(w, "receive (repeated patch)", msgs, { heads: true, ownHead: false });
    });

    it("replica.ts mergeMessage: a ROLLBACK that fails is swallowed, the transaction stays open and the fallback's BEGIN fails untyped", () => {
      const msgs = kit.messages();
      const w = kit.world(msgs, 0, false);
      try {
        kit.sweep(w, "receive (repeated patch)", msgs);
      } catch (e) {
        fail(String((e as Error).message));
      }
    });
  });
}
