/** Starts s3rver in a Node child process (so Bun tests can use it too) on 127.0.0.1. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./s3-server.cjs", import.meta.url));

export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
export const BUCKET = "snapshots";

export interface S3Server {
  endpoint: string;
  port: number;
  dir: string;
  /** SIGKILLs the server (an outage) and returns once it is dead: its port refuses connections. */
  kill(): void;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function launch(dir: string, port: number, buckets: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("node", [script, dir, String(port), ...buckets], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
}

export async function startS3(buckets: string[] = [BUCKET]): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), "replic-s3rver-"));
  let { child, port } = await launch(dir, 0, buckets);
  const waitExit = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    kill() {
      const pid = child.pid!;
      child.kill("SIGKILL");
      // Synchronous on purpose: callers kill from inside a progress callback, and the very next
      // request must find the server gone. The kernel closes the process's sockets before it
      // turns into a zombie ("Z" in /proc/<pid>/stat), which happens within milliseconds.
      const end = Date.now() + 5000;
      const stat = `/proc/${pid}/stat`;
      while (Date.now() < end && existsSync(stat)) {
        let state = "";
        try {
          state = readFileSync(stat, "utf8").replace(/^.*\) /s, "")[0] ?? "";
        } catch {
          break;
        }
        if (state === "Z" || state === "X") break;
      }
    },
    async restart() {
      await waitExit(child);
      // The port was just freed; retry briefly should the OS hold it.
      for (let i = 0; ; i++) {
        try {
          ({ child } = await launch(dir, port, []));
          return;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      child.kill("SIGTERM");
      await waitExit(child);
    },
  };
}
