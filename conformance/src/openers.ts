/**
 * One database file, two processes: a second opener with the same peer id, and a kill -9 inside
 * a migration that drops a T_patches table. Never two writers handing out one sequence number,
 * never a sequence number used twice.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DROP_MIGRATIONS, OPENER_MIGRATIONS } from "./opener-shared.mjs";
import type { ConformanceBinding } from "./types.js";
import { parseToken } from "./util.js";

const OPENER_CHILD = fileURLToPath(new URL("./opener-child.mjs", import.meta.url));

interface ChildRun {
  lines: string[];
  code: number | null;
}

/**
 * Runs the opener child; with `killAfter`, SIGKILLs it `delayMs` after that line appeared. A
 * child that exits non-zero rejects, unless `refusable` (then its code is returned).
 */
function runChild<Db>(
  b: ConformanceBinding<Db>,
  args: string[],
  killAfter?: { line: string; delayMs: number },
  refusable = false,
): Promise<ChildRun> {
  // The binding's child command names the runtime (the real binary) and the adapter; only the script differs.
  const [, ...rest] = b.childCommand.args;
  return new Promise((resolve, reject) => {
    const child = spawn(b.childCommand.cmd, [OPENER_CHILD, ...rest, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let armed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`opener child did not finish in 60 s; stderr:\n${err}`));
    }, 60_000);
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      if (killAfter && !armed && out.split("\n").includes(killAfter.line)) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), killAfter.delayMs);
      }
    });
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("close", (code) => {
      clearTimeout(timer);
      if (!killAfter && !refusable && code !== 0) reject(new Error(`opener child exited with ${code}; stderr:\n${err}`));
      // Only complete lines count: a kill may cut the last one.
      else resolve({ lines: out.slice(0, out.lastIndexOf("\n") + 1).split("\n").filter(Boolean), code });
    });
  });
}

const seqsOf = (lines: string[]) => lines.filter((l) => /^\d+\.\d+$/.test(l)).map((l) => parseToken(l).seq);

export function openersSuite<Db>(b: ConformanceBinding<Db>): void {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = () => {
    const d = mkdtempSync(join(tmpdir(), `replic-openers-${b.name}-`));
    dirs.push(d);
    return join(d, "shared.db");
  };
  const storedSeqs = (db: Db, peer: number) =>
    ["items_patches", "tags_patches"]
      .filter((t) => b.all(db, `SELECT count(*) AS n FROM sqlite_master WHERE name = '${t}'`)[0]!.n === 1)
      .flatMap((t) => b.all(db, `SELECT _sequenceId AS s FROM ${t} WHERE _peerId = ${peer}`).map((r) => Number(r.s)));

  describe("two processes on one database file", () => {
    // Only the test that fits the binding is defined (no skipped test).
    if (b.oneProcessPerFile === true) it("a second process opening it is refused with DATABASE_LOCKED naming the first; the first writes on", async () => {
      const path = file();
      const db = b.openDatabase(path);
      try {
        const first = b.adapter.openReplica(db, { heartbeatMs: 0 });
        first.migrate(OPENER_MIGRATIONS);
        first.upsert("items", { id: 1 });
        const child = await runChild(b, [path, "write", "5"], undefined, true);
        expect(child.code).toBe(4);
        expect(child.lines).toEqual([`refused DATABASE_LOCKED ${process.pid}`]);
        expect(first.upsert("items", { id: 2 })).toBe(`${first.peerId}.2`);
        first.close();
        expect(storedSeqs(db, first.peerId).sort((x, y) => x - y)).toEqual([1, 2]);
      } finally {
        b.closeDatabase(db);
      }
      // Once the first has closed it, the second process opens it and writes on.
      const child = await runChild(b, [path, "write", "2"]);
      expect(seqsOf(child.lines)).toEqual([3, 4]);
    }, 90_000);

    else it("a second process opening it with the same peer id writes on; the first refuses with IDENTITY_CONFLICT", async () => {
      const path = file();
      const db = b.openDatabase(path);
      try {
        const first = b.adapter.openReplica(db, { heartbeatMs: 0 });
        first.migrate(OPENER_MIGRATIONS);
        first.upsert("items", { id: 1 });
        first.upsert("items", { id: 2 });
        const child = await runChild(b, [path, "write", "5"]);
        expect(child.lines[0]).toBe(`peer ${first.peerId}`);
        expect(seqsOf(child.lines)).toEqual([3, 4, 5, 6, 7]);
        let code = "no error";
        try {
          first.upsert("items", { id: 3 });
        } catch (e) {
          code = String((e as { code?: unknown }).code);
        }
        expect(code).toBe("IDENTITY_CONFLICT");
        first.close();
        const again = b.adapter.openReplica(db, { heartbeatMs: 0 });
        expect(again.upsert("items", { id: 4 })).toBe(`${again.peerId}.8`);
        again.close();
        expect(storedSeqs(db, again.peerId).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      } finally {
        b.closeDatabase(db);
      }
    }, 90_000);

    it("kill -9 inside a migration that drops a T_patches table: reopened, no sequence number is used twice", async () => {
      let inside = 0;
      for (const delayMs of [0, 3, 10, 25, 60]) {
        const path = file();
        const child = await runChild(b, [path, "drop"], { line: "migrating", delayMs });
        if (!child.lines.includes("migrated")) inside++;
        const printed = seqsOf(child.lines);
        const what = `[${b.name} kill ${delayMs} ms into the migration]`;
        expect(printed.length, what).toBeGreaterThanOrEqual(6);
        const db = b.openDatabase(path);
        try {
          const r = b.adapter.openReplica(db, { heartbeatMs: 0 });
          r.migrate(DROP_MIGRATIONS); // applied by the child, or rolled back whole by the kill
          const held = storedSeqs(db, r.peerId);
          expect(new Set(held).size, `${what} no sequence stored twice`).toBe(held.length);
          const next = parseToken(r.upsert("items", { id: 999 })).seq;
          expect(next, `${what} the next sequence is above every one handed out`).toBe(Math.max(...printed, ...held) + 1);
          expect(b.all(db, `SELECT count(*) AS n FROM sqlite_master WHERE name = 'tags_patches'`)[0]!.n, what).toBe(0);
          r.close();
        } finally {
          b.closeDatabase(db);
        }
      }
      expect(inside, "kills that landed inside the migration").toBeGreaterThan(0);
    }, 180_000);
  });
}
