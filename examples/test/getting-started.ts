// The getting-started guide (docs/getting-started.md) as a user follows it: its files taken from
// the code blocks as written, and the steps of its section 5 run in order against real processes —
// server and client, a todo typed into the client, the server stopped, a todo typed offline, the
// server restarted, both converging. Used in the workspace (readme.test.ts) and from the packed
// tarballs (packages/transport-ws/test/packed-install.test.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../conformance/src/peer-process.js";

const guide = fileURLToPath(new URL("../../docs/getting-started.md", import.meta.url));

/** The guide's files: each code block preceded by `<!-- file: NAME -->`. */
export function guideFiles(): Record<string, string> {
  const md = readFileSync(guide, "utf8");
  const files: Record<string, string> = {};
  for (const m of md.matchAll(/<!-- file: (\S+) -->\n```\w+\n([\s\S]*?)```/g)) files[m[1]!] = m[2]!;
  return files;
}

export function writeGuideFiles(app: string): void {
  for (const [name, code] of Object.entries(guideFiles())) writeFileSync(join(app, name), code);
}

interface Proc {
  child: ChildProcess;
  out(): string;
  /** Resolves once the output matches (after `from`, an offset into it); rejects on timeout or exit. */
  waitFor(pattern: RegExp, what: string, from?: number, timeoutMs?: number): Promise<void>;
  stop(signal: NodeJS.Signals): Promise<number | null>;
  /** The exit code once the process ends by itself; throws after the timeout. */
  ended(timeoutMs?: number): Promise<number | null>;
}

function start(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, stdin: "pipe" | "ignore"): Proc {
  const child = spawn(cmd, args, { cwd, env, stdio: [stdin, "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    out: () => out,
    async waitFor(pattern, what, from = 0, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while (!pattern.test(out.slice(from))) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${args.join(" ")} exited before ${what}:\n${out}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${what} from ${args.join(" ")}:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    ended(timeoutMs = 15_000) {
      return Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${args.join(" ")} did not end:\n${out}`)), timeoutMs).unref()),
      ]);
    },
  };
}

/**
 * Runs section 5 of the guide in `app` (its files written and its packages installed there).
 * `server` is how the server starts: `[node, "server.mjs"]` or `[bun, "server.ts"]`. Resolves with
 * both processes' output; throws with that output when a step does not happen.
 */
export async function runGuideSteps(app: string, server: [string, string]): Promise<{ server: string; client: string }> {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), REPLIC_SECRET: "guide-secret", REPLIC_URL: `ws://127.0.0.1:${port}/replic` };
  const log: string[] = [];
  let srv = start(server[0], [server[1]], app, env, "ignore");
  const client = start(process.execPath, ["client.mjs"], app, env, "pipe");
  try {
    // 1. Server, then client: the client links and receives the server's row.
    await srv.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+\/replic/, "the server to listen");
    await client.waitFor(/linked to peer \d+/, "the client to link");
    await client.waitFor(/merged \d+ patch\(es\); todos: written on the server/, "the server's row on the client");
    // 2. A todo typed into the client reaches the server.
    client.child.stdin!.write("first todo\n");
    await srv.waitFor(/todos: first todo, written on the server/, "the client's todo on the server");
    // 3. Server stopped (Ctrl+C); the client keeps running and writes.
    expect0(await srv.stop("SIGINT"), "server stopped with Ctrl+C", srv.out());
    log.push(srv.out());
    const mark = client.out().length;
    client.child.stdin!.write("written offline\n");
    await client.waitFor(/wrote \d+\.2\b.*todos: first todo, written offline, written on the server/, "the offline write", mark);
    // 4. Server restarted on its file: the client re-dials and the offline write arrives.
    srv = start(server[0], [server[1]], app, env, "ignore");
    await srv.waitFor(/todos: first todo, written offline, written on the server/, "the offline write on the restarted server", 0, 40_000);
    // 5. Ctrl+D ends the client, Ctrl+C the server.
    client.child.stdin!.end();
    expect0(await client.ended(), "client ended by end of input", client.out());
    expect0(await srv.stop("SIGINT"), "server stopped with Ctrl+C", srv.out());
    log.push(srv.out());
    return { server: log.join(""), client: client.out() };
  } finally {
    await client.stop("SIGKILL");
    await srv.stop("SIGKILL");
  }
}

function expect0(code: number | null, what: string, out: string): void {
  if (code !== 0) throw new Error(`${what}: exit code ${code}\n${out}`);
}
