// Plumbing of the multi-process examples: starts a peer process under Node or Bun, reads the JSON
// lines it prints, and sends it commands on stdin.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
// The real Bun binary from the `bun` npm package (its .bin shim would run Bun as a child).
const BUN = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");

export function launch(script, args, binding) {
  const child = spawn(binding === "bun" ? BUN : process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const events = [];
  let wake = () => {};
  let buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      try {
        events.push(JSON.parse(buf.slice(0, i)));
      } catch {
        process.stdout.write(buf.slice(0, i + 1));
      }
      wake();
    }
  });
  const exited = new Promise((r) => child.on("exit", r));
  return {
    child,
    exited,
    send: (cmd) => child.stdin.write(JSON.stringify(cmd) + "\n"),
    async next(ev, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const i = events.findIndex((e) => e.ev === ev);
        if (i >= 0) return events.splice(i, 1)[0];
        if (child.exitCode !== null || Date.now() > end) throw new Error(`${script} ${args.join(" ")}: no ${ev} event`);
        await new Promise((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
  };
}

/** Stops writes everywhere, then waits (≤ 20 s) until every peer reports the same rows. */
export async function settle(peers) {
  for (const p of peers) p.send({ cmd: "stop" });
  for (const p of peers) await p.next("stopped");
  const started = Date.now();
  let dumps;
  for (;;) {
    for (const p of peers) p.send({ cmd: "dump" });
    dumps = [];
    for (const p of peers) dumps.push(await p.next("dump"));
    if (dumps.every((d) => d.rows === dumps[0].rows) || Date.now() - started > 20_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { same: dumps.every((d) => d.rows === dumps[0].rows), dumps, ms: Date.now() - started };
}
