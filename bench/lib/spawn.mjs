// Spawning helper processes (same runtime as the current one: node for better-sqlite3 and WASM,
// bun for bun:sqlite) that talk to their parent with stdout lines, and running a child to its
// result.
import { spawn } from "node:child_process";
import { RESULT_MARK } from "./proc.mjs";

/**
 * Starts `script` with a JSON config. Returns { child, line(prefix) => Promise<string>, result: Promise<object> }.
 * `line` resolves with the rest of the first stdout line starting with `prefix`.
 */
export function spawnPeer(script, cfg, { timeoutMs = 600_000, log = () => {}, runtime } = {}) {
  // `runtime`: another executable (node, for a set-up only better-sqlite3 can do fast); it gets
  // --expose-gc like any node child.
  const bun = !runtime && typeof globalThis.Bun !== "undefined";
  const args = bun ? [script, JSON.stringify(cfg)] : ["--expose-gc", script, JSON.stringify(cfg)];
  const child = spawn(runtime ?? process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const waiters = [];
  const seen = [];
  let buf = "";
  let stderr = "";
  let resolveResult;
  const result = new Promise((r) => (resolveResult = r));
  let resultValue = null;
  child.stdout.on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith(RESULT_MARK)) resultValue = JSON.parse(line.slice(RESULT_MARK.length));
      seen.push(line);
      for (const w of [...waiters]) {
        if (line.startsWith(w.prefix)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line.slice(w.prefix.length).trim());
        }
      }
    }
  });
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
    log(String(d).trimEnd());
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  child.on("close", (code, signal) => {
    clearTimeout(timer);
    const why = resultValue?.error ?? stderr;
    for (const w of waiters) w.reject(new Error(`peer exited (${code ?? signal}) before printing ${w.prefix}: ${why}`));
    resolveResult(resultValue ?? { ok: false, error: `peer exited ${code ?? signal} without a result: ${stderr}` });
  });
  return {
    child,
    result,
    line(prefix) {
      const hit = seen.find((l) => l.startsWith(prefix));
      if (hit) return Promise.resolve(hit.slice(prefix.length).trim());
      return new Promise((resolve, reject) => waiters.push({ prefix, resolve, reject }));
    },
  };
}

/**
 * Runs `cmd args` in `cwd` to its end, its stderr passed through; resolves with the object it
 * emitted after RESULT_MARK, or `{ ok: false, error }` with the tail of its stderr. Killed after
 * `timeoutMs`.
 */
export function runToResult(cmd, args, { cwd, timeoutMs = 1_800_000 } = {}) {
  return new Promise((res) => {
    const c = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let errTail = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => {
      process.stderr.write(d);
      errTail = (errTail + d).slice(-3000);
    });
    const timer = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    c.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith(RESULT_MARK));
      res(line ? JSON.parse(line.slice(RESULT_MARK.length)) : { ok: false, error: `exited ${code ?? signal} without a result: ${errTail}` });
    });
  });
}
