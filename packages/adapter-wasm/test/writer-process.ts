// The writer fixture (fixtures/writer.mjs) as a child process: a replica on a node-sqlite3-wasm
// file that writes until it is SIGKILLed, printing each write once upsert returned.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Launcher } from "@replic/conformance/peer-process";

const WRITER = fileURLToPath(new URL("./fixtures/writer.mjs", import.meta.url));
// The child runs the built package, as an application would.
const ENTRY = fileURLToPath(new URL("../dist/index.js", import.meta.url));

export interface Writer {
  child: ChildProcess;
  /** Complete lines printed so far. */
  lines(): string[];
  /** Resolves once `n` lines are printed. */
  waitLines(n: number): Promise<void>;
  /** SIGKILL, resolved once the process is gone (reaped). */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts the writer on `file`: under Node, or under `launcher` (Deno). */
export function spawnWriter(file: string, options: { plain?: boolean; launcher?: Launcher } = {}): Writer {
  const { plain = false, launcher } = options;
  const child = spawn(launcher?.cmd ?? process.execPath, [...(launcher?.args ?? []), WRITER, ENTRY, file, ...(plain ? ["plain"] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
    env: launcher?.env ?? process.env,
  });
  let out = "";
  let err = "";
  const waiters: { n: number; resolve: () => void }[] = [];
  const lines = () => out.slice(0, out.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString("utf8");
    const n = lines().length;
    for (const w of waiters.splice(0)) (n >= w.n ? w.resolve() : waiters.push(w));
  });
  child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    lines,
    waitLines: (n) =>
      new Promise<void>((resolve, reject) => {
        if (lines().length >= n) return resolve();
        waiters.push({ n, resolve });
        void exited.then((code) => reject(new Error(`writer exited (${code}) after ${lines().length} lines; stderr:\n${err}`)));
      }),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    exited,
  };
}

/** Own writes printed by a writer: token sequence → row id. */
export function printed(lines: string[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of lines) {
    const match = /^(\d+)\.(\d+) (\d+)$/.exec(l);
    if (match) m.set(Number(match[2]), Number(match[3]));
  }
  return m;
}

