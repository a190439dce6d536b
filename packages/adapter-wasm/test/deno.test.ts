// node-sqlite3-wasm under Deno 2: the adapter's basics run by `deno test` (test/deno/), and crash
// recovery across runtimes: a Deno writer (which holds a flock on its owner record) SIGKILLed
// mid-writes, then a plain open under Node recovers the file, judging the owner by /proc/locks;
// while the Deno writer lives, Node's open is refused with its pid.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { denoLauncher } from "@replic/conformance/deno-launcher";
import { DatabaseLockedError, openDatabase, openReplica } from "../src/index";
import { ownerPath } from "../src/file-owner";
import { printed, spawnWriter, type Writer } from "./writer-process";

const dir = mkdtempSync(join(tmpdir(), "replic-wasm-deno-"));
const writers: Writer[] = [];
afterAll(async () => {
  for (const w of writers) await w.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe("node-sqlite3-wasm under Deno 2", () => {
  it("deno test: the adapter's basics pass under Deno", async () => {
    const deno = denoLauncher(import.meta.url, dir, { command: "test" });
    const script = fileURLToPath(new URL("./deno/adapter_test.mjs", import.meta.url));
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(deno.cmd, [...deno.args, script, "--", dir], { env: deno.env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out }));
    });
    expect(out).toMatch(/ok \| 4 passed \| 0 failed/);
    expect(code, out).toBe(0);
  }, 30_000);

  it("a Deno writer killed -9: Node opens the file, recovered, with every write; while it lives, Node is refused", async () => {
    const file = join(dir, "deno-writer.db");
    const w = spawnWriter(file, { launcher: denoLauncher(import.meta.url, dir) });
    writers.push(w);
    await w.waitLines(40);
    let refusal: unknown;
    try {
      openDatabase(file);
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(DatabaseLockedError);
    expect((refusal as DatabaseLockedError).pid).toBe(w.child.pid);
    await w.kill();
    expect(existsSync(ownerPath(file))).toBe(true);

    const db = openDatabase(file);
    const replica = openReplica(db, { heartbeatMs: 0 });
    try {
      expect(db.get("PRAGMA integrity_check")).toEqual({ integrity_check: "ok" });
      const onDisk = new Map(
        (db.all(`SELECT _sequenceId AS s, id FROM items_patches WHERE _peerId = ${replica.peerId}`) as { s: number; id: number }[]).map((r) => [r.s, r.id]),
      );
      const writes = printed(w.lines());
      expect(writes.size).toBeGreaterThan(30);
      for (const [s, id] of writes) expect(onDisk.get(s), `write ${s}`).toBe(id);
      expect(replica.upsert("items", { id: 0, v: "node" })).toBe(`${replica.peerId}.${onDisk.size + 1}`);
    } finally {
      replica.close();
      db.close();
    }
  }, 30_000);
});
