// Builds the test worker (test/fixtures/worker.ts) into one ES module and runs it in workerd
// (through miniflare, in a child process), with Durable Objects on SQLite in a persist directory.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll } from "vitest";
import { freePort } from "@replic/conformance/peer-process";

const here = dirname(fileURLToPath(import.meta.url));
const RUNNER = join(here, "fixtures", "run-workerd.mjs");

/** Bundles the test worker into `outDir/worker.mjs` (node:* stays external: nodejs_compat). */
export async function bundleWorker(outDir: string, entry = join(here, "fixtures", "worker.ts"), alias?: Record<string, string>): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, "worker.mjs");
  await build({
    entryPoints: [entry],
    alias,
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser", "import"],
    external: ["node:*", "cloudflare:*"],
    target: "es2022",
    logLevel: "error",
  });
  return outfile;
}

export interface WorkerdOptions {
  script: string;
  persist: string;
  port: number;
  secret?: string;
  heartbeatMs?: number;
  durableObjects?: Record<string, { className: string; useSQLite: true }>;
  bindings?: Record<string, string>;
}

export class Workerd {
  private child!: ChildProcess;
  url = "";
  workerdPid: number | undefined;
  stderr = "";

  private constructor(private readonly opts: WorkerdOptions) {}

  static async start(opts: WorkerdOptions): Promise<Workerd> {
    const w = new Workerd(opts);
    await w.launch();
    return w;
  }

  private launch(): Promise<void> {
    const cfg = { ...this.opts, root: dirname(this.opts.script) };
    this.child = spawn(process.execPath, [RUNNER, JSON.stringify(cfg)], { stdio: ["ignore", "pipe", "pipe"], cwd: here });
    this.child.stderr!.on("data", (d: Buffer) => void (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      let buf = "";
      const timer = setTimeout(() => reject(new Error(`workerd did not start in 30 s:\n${this.stderr}`)), 30_000);
      this.child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        const line = buf.split("\n").find((l) => l.includes('"ready"'));
        if (!line) return;
        const ev = JSON.parse(line) as { url: string; workerd?: number };
        this.url = ev.url.replace(/\/$/, "");
        this.workerdPid = ev.workerd;
        clearTimeout(timer);
        resolve();
      });
      this.child.once("exit", (code) => reject(new Error(`workerd runner exited (${code}):\n${this.stderr}`)));
    });
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, "ws")}/replic`;
  }

  async fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.url}${path}`, init);
  }

  async json<T = unknown>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.fetch(path, init);
    return (await res.json()) as T;
  }

  /** SIGKILLs workerd itself (no shutdown of any kind), then its runner. */
  async kill(): Promise<void> {
    if (this.workerdPid) {
      try {
        process.kill(this.workerdPid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.stopRunner("SIGKILL");
  }

  /** Restarts the runtime on the same persist directory and port. */
  async restart(): Promise<void> {
    await this.launch();
  }

  /** Orderly stop (miniflare disposes the runtime). */
  async stop(): Promise<void> {
    await this.stopRunner("SIGTERM");
  }

  private async stopRunner(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once("exit", r));
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}

/**
 * One workerd for the tests of one file: the test worker built and started before them, stopped
 * and its files removed after. Returns it (valid once the tests run).
 */
export function workerdForFile(name: string): () => Workerd {
  const dir = mkdtempSync(join(tmpdir(), `replic-do-${name}-`));
  let w: Workerd | undefined;
  beforeAll(async () => {
    const script = await bundleWorker(join(dir, "build"));
    w = await Workerd.start({ script, persist: join(dir, "persist"), port: await freePort() });
  }, 60_000);
  afterAll(async () => {
    await w?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => w!;
}
