// Crash recovery at open: a node-sqlite3-wasm process SIGKILLed mid-writes leaves its `.lock`
// directory and often a hot journal; a plain open afterwards recovers by itself and holds every
// write upsert returned for. A second open while the writer lives is refused, typed, naming it.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "node-sqlite3-wasm";
import { afterEach, describe, expect, it } from "vitest";
import { DatabaseLockedError, isReplicError, openDatabase, openReplica } from "../src/index";
import { printed, spawnWriter, type Writer } from "./writer-process";
import { currentProcess, judge, ownerPath, type OwnerRecord, type Probes } from "../src/file-owner";

const require = createRequire(import.meta.url);
const dirs: string[] = [];
const children: Writer[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const startWriter = (file: string, plain = false) => {
  const w = spawnWriter(file, { plain });
  children.push(w);
  return w;
};
const tempFile = () => {
  const d = mkdtempSync(join(tmpdir(), "replic-wasm-recover-"));
  dirs.push(d);
  return join(d, "app.db");
};

describe("crash recovery at open (node-sqlite3-wasm)", () => {
  it("kill -9 mid-writes, then a plain open: recovered by itself, every returned write is there", async () => {
    const file = tempFile();
    let lockLeft = 0;
    let journalLeft = 0;
    const all = new Map<number, number>();
    for (let round = 0; round < 4; round++) {
      // Rounds 1 and 2 run the writer on plain `new Database(path)`, odd rounds reopen that way:
      // openReplica then recovers, as openDatabase does.
      const w = startWriter(file, round === 1 || round === 2);
      await w.waitLines(1 + 20 + ((round * 37) % 90));
      await w.kill();
      for (const [s, id] of printed(w.lines())) all.set(s, id);
      if (existsSync(`${file}.lock`)) lockLeft++;
      if (existsSync(`${file}-journal`)) journalLeft++;
      expect(existsSync(ownerPath(file)), "the dead writer's owner record is left behind").toBe(true);

      // The documented open, nothing else: no recovery call.
      const db = round % 2 === 0 ? openDatabase(file) : new Database(file);
      const replica = openReplica(db, { heartbeatMs: 0 });
      try {
        expect(db.get("PRAGMA integrity_check")).toEqual({ integrity_check: "ok" });
        const rows = new Map((db.all("SELECT id, v FROM items") as { id: number; v: string }[]).map((r) => [r.id, r.v]));
        const seqs = (db.all(`SELECT _sequenceId AS s, id FROM items_patches WHERE _peerId = ${replica.peerId} ORDER BY _sequenceId`) as { s: number; id: number }[]);
        seqs.forEach((x, k) => expect(x.s, "own sequence numbers are 1..n").toBe(k + 1));
        const onDisk = new Map(seqs.map((x) => [x.s, x.id]));
        for (const [s, id] of all) {
          expect(onDisk.get(s), `write ${s} whose upsert returned is in T_patches`).toBe(id);
          expect(rows.get(id), `row ${id} of write ${s}`).toBe(id === 0 ? `after ${round - 1}` : `v${id}-`.padEnd(300, "x"));
        }
        const next = replica.upsert("items", { id: 0, v: `after ${round}` });
        expect(next).toBe(`${replica.peerId}.${seqs.length + 1}`);
        for (const [s, id] of [...all]) if (id === 0) all.delete(s); // row 0 now holds this round's value
        all.set(seqs.length + 1, 0);
      } finally {
        replica.close();
        db.close();
      }
      expect(existsSync(ownerPath(file)), "closing gives the file back").toBe(false);
    }
    // The kills did leave what needed recovering.
    expect(lockLeft, "kills that left a stale .lock").toBeGreaterThan(0);
    expect(all.size).toBeGreaterThan(80);
    console.log(`[wasm recovery] 4 kills: ${lockLeft} left a stale .lock, ${journalLeft} a hot journal; ${all.size} writes checked`);
  }, 30_000);

  it("a second open while the writer lives is refused with DATABASE_LOCKED naming its pid, and changes nothing", async () => {
    const file = tempFile();
    const w = startWriter(file);
    await w.waitLines(30);
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e;
      }
      throw new Error("the open was not refused");
    };
    for (const open of [() => openDatabase(file), () => openReplica(new Database(file), { heartbeatMs: 0 })]) {
      const e = refusal(open);
      expect(isReplicError(e) && e.code).toBe("DATABASE_LOCKED");
      expect(e).toBeInstanceOf(DatabaseLockedError);
      expect((e as DatabaseLockedError).pid).toBe(w.child.pid);
      expect((e as Error).message).toContain(String(w.child.pid));
    }
    // A second process is refused the same way, and the writer never noticed.
    const second = startWriter(file);
    expect(await second.exited).toBe(4);
    expect(second.lines()).toEqual([`refused DATABASE_LOCKED ${w.child.pid}`]);
    const before = w.lines().length;
    await w.waitLines(before + 20);
    await w.kill();
    const db = openDatabase(file);
    try {
      const n = Number((db.get("SELECT count(*) AS n FROM items_patches") as { n: number }).n);
      expect(n).toBeGreaterThanOrEqual(printed(w.lines()).size);
    } finally {
      db.close();
    }
  }, 30_000);
});

describe("owner records", () => {
  const self = currentProcess();
  const rec = (over: Partial<OwnerRecord>): OwnerRecord => ({ ...self, nonce: "n", ...over });
  const probes = (over: Partial<Probes> = {}): Probes => ({ readFileSync, exists: () => false, flockHeld: () => undefined, ...over });

  it("on Linux: same boot and PID namespace, judged by /proc: pid and start time", () => {
    expect(self.boot, "these tests run on Linux").not.toBeNull();
    expect(judge(rec({}), self, probes()).state).toBe("alive");
    expect(judge(rec({ start: "1" }), self, probes()).state).toBe("dead"); // pid reused
    expect(judge(rec({ pid: 2 ** 22 + 1 }), self, probes()).state).toBe("dead"); // beyond pid_max
  });

  it("the same host name after a reboot or a container restart: dead; another host: unknown", () => {
    const other = { ...self, host: "h1", boot: "b1", pidns: "pid:[1]" };
    const exists = probes({ exists: () => true });
    expect(judge(rec({ host: "h1", boot: "b0", pidns: "pid:[1]" }), other, exists).state).toBe("dead");
    expect(judge(rec({ host: "h1", boot: "b1", pidns: "pid:[2]" }), other, exists).state).toBe("dead");
    expect(judge(rec({ host: "h2", boot: "b2", pidns: "pid:[3]" }), other, exists).state).toBe("unknown");
    expect(judge(rec({ host: null, boot: "b2", pidns: "pid:[3]" }), other, exists).state).toBe("unknown");
    // Without /proc (macOS, Windows): the pid's existence decides; not allowed to ask: unknown.
    const bare = { ...self, host: "h1", boot: null, pidns: null, start: null };
    const r = rec({ host: "h1", boot: null, pidns: null, start: null });
    expect(judge(r, bare, probes({ exists: () => true })).state).toBe("alive");
    expect(judge(r, bare, probes({ exists: () => false })).state).toBe("dead");
    expect(judge(r, bare, probes({ exists: () => undefined })).state).toBe("unknown");
    // An owner holding a flock on its record (Deno): the lock decides, whatever else is known.
    const locked = rec({ host: null, boot: null, pidns: null, start: null, lock: "flock" });
    expect(judge(locked, other, probes({ flockHeld: () => true })).state).toBe("alive");
    expect(judge(locked, other, probes({ flockHeld: () => false })).state).toBe("dead");
    expect(judge(locked, other, probes({ flockHeld: () => undefined })).state).toBe("unknown");
  });

  it("a file left locked without a record is not recovered while a plain node-sqlite3-wasm process has it open", async () => {
    const file = tempFile();
    const seed = new Database(file);
    seed.exec("CREATE TABLE t(x)");
    seed.close();
    // Holds the file open without replic (no record), as plain node-sqlite3-wasm does.
    const holder = spawn(process.execPath, ["-e", `const { Database } = require(${JSON.stringify(require.resolve("node-sqlite3-wasm"))}); new Database(${JSON.stringify(file)}).all("SELECT 1"); console.log("open"); setTimeout(() => {}, 60000);`], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise((resolve) => holder.stdout!.once("data", resolve));
      mkdirSync(`${file}.lock`); // as if it were inside a transaction
      let err: unknown;
      try {
        openDatabase(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DatabaseLockedError);
      expect((err as DatabaseLockedError).pid).toBe(holder.pid);
      expect(existsSync(`${file}.lock`), "its lock was left alone").toBe(true);
      expect(existsSync(ownerPath(file)), "and no record kept").toBe(false);
    } finally {
      holder.kill("SIGKILL");
      await new Promise((resolve) => holder.once("close", resolve));
    }
    const db = openDatabase(file); // the holder is gone: recovered
    expect(db.all("SELECT count(*) AS n FROM t")).toEqual([{ n: 0 }]);
    db.close();
  }, 20_000);

  it("a record of another host is refused with its host; an unreadable one is taken over", () => {
    const file = tempFile();
    writeFileSync(ownerPath(file), JSON.stringify({ pid: 4242, start: "9", boot: "elsewhere", pidns: "pid:[9]", host: "not-this-host-xyz", nonce: "x" }));
    let err: unknown;
    try {
      openDatabase(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatabaseLockedError);
    expect((err as DatabaseLockedError).host).toBe("not-this-host-xyz");
    expect((err as Error).message).toContain(ownerPath(file)); // says what to delete once that process is gone
    expect(existsSync(file)).toBe(false); // nothing was created

    writeFileSync(ownerPath(file), "{ torn");
    const db = openDatabase(file);
    expect(JSON.parse(readFileSync(ownerPath(file), "utf8")).pid).toBe(process.pid);
    const again = openDatabase(file); // this process again: shared
    db.close();
    expect(existsSync(ownerPath(file)), "still held by the second handle").toBe(true);
    again.close();
    expect(existsSync(ownerPath(file))).toBe(false);
  });
});
