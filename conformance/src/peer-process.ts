// Spawns a replica process (a script built on replica-process.mjs) under Node or the real Bun
// binary (not the npm shim, so that a SIGKILL reaches Bun itself) and talks to it over
// stdin/stdout JSON lines. Used by the transports' multi-runtime tests.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createServer } from "node:net";

const require = createRequire(import.meta.url);
export const BUN = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");

export interface PeerConfig {
  name: string;
  adapter: "bun" | "node" | "wasm";
  db: string;
  peerId: number;
  [k: string]: unknown;
}

export interface Event {
  name: string;
  ev: string;
  [k: string]: unknown;
}

/** Another runtime to run the script under (e.g. Deno): `cmd args... <script> <cfg>`. */
export interface Launcher {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export class PeerProcess {
  readonly child: ChildProcess;
  private events: Event[] = [];
  private waiters: Array<() => void> = [];
  stderr = "";
  exited = false;

  constructor(script: string, readonly cfg: PeerConfig, launcher?: Launcher) {
    const runtime = launcher?.cmd ?? (cfg.adapter === "bun" ? BUN : process.execPath);
    this.child = spawn(runtime, [...(launcher?.args ?? []), script, JSON.stringify(cfg)], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: dirname(script),
      env: launcher?.env ?? process.env,
    });
    let buf = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line));
        } catch {
          this.stderr += `stdout: ${line}\n`;
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => void (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.child.on("exit", () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The next event of this kind (consumed), or a throw with the process's stderr. */
  async next(ev: string, timeoutMs = 15_000): Promise<Event> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.ev === ev);
      if (i >= 0) return this.events.splice(i, 1)[0];
      if (this.exited || Date.now() > end) throw new Error(`${this.cfg.name}: no "${ev}" event (${this.exited ? "exited" : "timeout"}); stderr:\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(cmd) + "\n");
  }

  async dump(): Promise<Event> {
    this.send({ cmd: "dump" });
    return this.next("dump");
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGKILL");
    await gone;
  }

  async exit(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once("exit", r));
    this.send({ cmd: "exit" });
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(t);
  }
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
