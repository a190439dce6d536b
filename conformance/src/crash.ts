import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fail } from "./fail.js";
import type { ConformanceBinding } from "./types.js";
import { cellString, envInt, hex, parseToken, prng, randInt, typedRows } from "./util.js";

/** Absolute path of the crash-test child script (plain ESM, runs under node and bun). */
export const CRASH_CHILD_PATH = fileURLToPath(new URL("./crash-child.mjs", import.meta.url));

/**
 * The `childCommand` of a binding: `runtime` is the executable (process.execPath under the
 * runtime running the tests), `adapterEntry` the adapter's built ESM entry (file path or URL),
 * `nativeModule` the resolved path of the SQLite binding package (unused for bun:sqlite).
 */
export function crashChildCommand(
  runtime: string,
  driver: "better-sqlite3" | "bun:sqlite" | "node-sqlite3-wasm",
  adapterEntry: string | URL,
  nativeModule = "-",
): { cmd: string; args: string[] } {
  const entry = adapterEntry instanceof URL ? fileURLToPath(adapterEntry) : adapterEntry;
  return { cmd: runtime, args: [CRASH_CHILD_PATH, driver, entry, nativeModule] };
}

// Keep in sync with crash-child.mjs.
const CRASH_MIGRATIONS = [
  {
    up:
      "CREATE TABLE crash_items (id INTEGER PRIMARY KEY, run INTEGER, label TEXT, payload BLOB);\n" +
      "CREATE TABLE crash_items_patches (id INTEGER, run INTEGER, label TEXT, payload BLOB, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);",
    down: "DROP TABLE crash_items_patches; DROP TABLE crash_items;",
  },
];

function crashRow(id: number, run: number) {
  const payload = new Uint8Array(8);
  for (let i = 0; i < payload.length; i++) payload[i] = (id * 31 + i) & 0xff;
  return { id, run, label: `row-${id}`, payload };
}

function expectedCells(id: number, run: number): string {
  const r = crashRow(id, run);
  return [`int:${id}`, `int:${run}`, `text:${JSON.stringify(r.label)}`, `blob:${hex(r.payload)}`].join(" | ");
}

/** Runs the child until it printed `lines` complete lines (+ `delayMs`), then SIGKILLs it. */
function runAndKill(cmd: string, args: string[], lines: number, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let killed = false;
    let newlines = 0;
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`crash child printed only ${newlines} lines in 60 s; stderr:\n${err}`));
    }, 60_000);
    function kill() {
      if (killed) return;
      killed = true;
      child.kill("SIGKILL");
    }
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      for (const ch of chunk) if (ch === "\n") newlines++;
      if (!killed && newlines >= lines) {
        if (delayMs === 0) kill();
        else setTimeout(kill, delayMs);
      }
    });
    child.stderr!.on("data", (chunk: string) => {
      err += chunk;
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`crash child exited by itself (code ${code}, signal ${signal}); stderr:\n${err}\nstdout tail:\n${out.slice(-2000)}`));
      else resolve(out);
    });
  });
}

export function crashSuite<Db>(b: ConformanceBinding<Db>): void {
  const kills = envInt("REPLIC_CRASH_KILLS", 20);

  describe("crash safety (kill -9)", () => {
    it(
      `after ${kills} SIGKILLs: no returned write lost, sequence numbers 1..n without gap or reuse`,
      async () => {
        const seed = Date.now() >>> 0;
        const rand = prng(seed);
        const dir = mkdtempSync(join(tmpdir(), `replic-crash-${b.name}-`));
        const dbPath = join(dir, "crash.db");
        let peer: number | undefined;
        let lastSeq = 0; // the highest sequence number handed out so far (by the parent's own upsert)
        try {
          for (let run = 1; run <= kills; run++) {
            const lines = randInt(rand, 4, 150);
            const delay = rand() < 0.5 ? 0 : randInt(rand, 1, 15);
            const what = `[${b.name} seed ${seed} run ${run}: kill after ${lines} lines + ${delay} ms]`;
            const out = await runAndKill(b.childCommand.cmd, [...b.childCommand.args, dbPath, String(run)], lines, delay);

            // What the child printed: only complete lines count.
            const complete = out.slice(0, out.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
            const header = /^peer (\d+)$/.exec(complete[0] ?? "");
            expect(header, `${what} first line ${JSON.stringify(complete[0])}`).not.toBeNull();
            const childPeer = Number(header![1]);
            if (peer === undefined) peer = childPeer;
            expect(childPeer, `${what} generated peerId is persisted across restarts`).toBe(peer);
            const printed = complete.slice(1).map((l) => {
              const [token, id] = l.split(" ");
              const t = parseToken(token!);
              expect(t.peerId, `${what} token ${token}`).toBe(peer);
              return { seq: t.seq, id: Number(id) };
            });
            expect(printed.length, what).toBeGreaterThanOrEqual(3);
            printed.forEach((p, k) => expect(p.seq, `${what} printed token #${k}: seq after ${lastSeq}`).toBe(lastSeq + 1 + k));

            // Reopen the file with a fresh replica.
            const attempt = <T>(step: string, fn: () => T): T => {
              try {
                return fn();
              } catch (e) {
                throw new Error(
                  `${what} ${step} after the kill failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}; ` +
                    `files in the directory: ${readdirSync(dir).join(", ")}`,
                  { cause: e },
                );
              }
            };
            const db = attempt("opening the database", () => b.openDatabase(dbPath));
            try {
              const r = attempt("openReplica", () => b.adapter.openReplica(db, { heartbeatMs: 0 }));
              try {
                attempt("migrate", () => r.migrate(CRASH_MIGRATIONS));
                expect(r.peerId, `${what} reopened peerId`).toBe(peer);
                const seqs = b
                  .all(db, `SELECT _sequenceId AS s, id FROM crash_items_patches WHERE _peerId = ${peer} ORDER BY _sequenceId`)
                  .map((row) => ({ s: Number(row.s), id: Number(row.id) }));
                const n = seqs.length;
                seqs.forEach((x, k) => {
                  if (x.s !== k + 1) fail(`${what} T_patches sequence numbers are not 1..${n}: position ${k} holds ${x.s}`);
                });
                const bySeq = new Map(seqs.map((x) => [x.s, x.id]));
                const rows = new Map(
                  typedRows(b, db, "crash_items").map((cells) => [Number((cells[0] as { v: bigint }).v), cells.map(cellString).join(" | ")]),
                );
                for (const p of printed) {
                  expect(bySeq.get(p.seq), `${what} the write of printed token ${peer}.${p.seq} is in T_patches`).toBe(p.id);
                  expect(rows.get(p.id), `${what} row ${p.id} of printed token ${peer}.${p.seq}`).toBe(expectedCells(p.id, run));
                }
                // No patch without its row and no row without a patch.
                expect(rows.size, `${what} rows in T vs patches`).toBe(new Set(seqs.map((x) => x.id)).size);
                // The next write continues exactly after the last persisted one.
                const parentId = run * 1_000_000 + 999_999;
                const token = r.upsert("crash_items", crashRow(parentId, run));
                expect(parseToken(token).seq, `${what} next token after ${n} persisted`).toBe(n + 1);
                lastSeq = n + 1;
              } finally {
                r.close();
              }
            } finally {
              b.closeDatabase(db);
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      240_000,
    );
  });
}
