/**
 * One process at a time on a node-sqlite3-wasm file, and recovery after a crash without a human.
 *
 * node-sqlite3-wasm's only lock is a `<file>.lock` directory, made and removed around every
 * transaction. It holds no process id, so after a kill -9 inside a transaction nobody can tell a
 * stale one from a live transaction. The open helpers therefore keep an owner record next to the
 * file, `<file>.replic-owner`, for as long as the file is open: the owner's pid and what tells a
 * live process from a dead one with the same pid (see `judge`). Opening a file:
 * - held by this process (another connection of ours): shares it;
 * - held by a live process: refused with DATABASE_LOCKED naming its pid (and host);
 * - held by no one, or by a dead process: takes the record over, then plays a hot rollback
 *   journal back and removes a stale `.lock` (./lock.ts), which is safe only because no live
 *   process can be inside a transaction on the file.
 * The rules and their limits are in the package README ("Crash recovery").
 */
import { DatabaseLockedError } from "@replic/core";
import { recoverAfterCrash } from "./lock";

interface FsLike {
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(path: string, data: string, options?: { flag?: string }): void;
  linkSync(existing: string, newPath: string): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  readlinkSync(path: string): string;
  readdirSync(path: string): string[];
  existsSync(path: string): boolean;
  realpathSync(path: string): string;
}

interface Builtins {
  fs: FsLike;
  path: { resolve(p: string): string };
  os: { hostname(): string };
}

function builtins(): Builtins {
  // Looked up at call time (not imported), so this package still bundles for browsers.
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== "function") throw new Error("replic: opening a node-sqlite3-wasm file needs Node.js >= 20.16, Bun or Deno 2");
  return { fs: get("node:fs") as FsLike, path: get("node:path") as Builtins["path"], os: get("node:os") as Builtins["os"] };
}

/** What the owner record says about its process. Fields that could not be read are null. */
export interface OwnerRecord {
  pid: number;
  /** Linux: start time of the process in clock ticks since boot (/proc/<pid>/stat, field 22). */
  start: string | null;
  /** Linux: /proc/sys/kernel/random/boot_id, new at every boot, shared by the containers of a host. */
  boot: string | null;
  /** Linux: the PID namespace (/proc/self/ns/pid), different in each container. */
  pidns: string | null;
  host: string | null;
  /** Tells two records of one pid apart. */
  nonce: string;
}

const attempt = <T>(fn: () => T): T | null => {
  try {
    return fn();
  } catch {
    return null; // not Linux, or (Deno) not allowed to read it
  }
};

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(fs: FsLike, pid: number | "self"): string[] | null {
  const text = attempt(() => fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  if (text === null) return null;
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

let selfCache: Omit<OwnerRecord, "nonce"> | undefined;

/** This process, as a record would describe it. */
export function currentProcess(): Omit<OwnerRecord, "nonce"> {
  if (selfCache) return selfCache;
  const { fs, os } = builtins();
  const pid = (globalThis as unknown as { process: { pid: number } }).process.pid;
  // Field 22 of stat is the start time; fields are counted from 1 and the list starts at field 3.
  const start = statFields(fs, "self")?.[19] ?? null;
  selfCache = {
    pid,
    start,
    boot: attempt(() => fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()) || null,
    pidns: attempt(() => fs.readlinkSync("/proc/self/ns/pid")),
    host: attempt(() => os.hostname()) || null,
  };
  return selfCache;
}

export type Verdict = { state: "alive" | "dead" | "unknown"; why: string };

/**
 * Is the process of `rec` alive? `self` is this process (a parameter so tests can play other
 * hosts). `exists(pid)` answers for a pid of this host where /proc cannot be read.
 * - Same boot and PID namespace (Linux): alive iff /proc/<pid> exists, is no zombie and started
 *   at the recorded time; a pid reused by another process started at another time.
 * - Same host name, another boot: the host restarted since, so the process is gone. Same host
 *   name and boot, another PID namespace: the same container restarted (a container keeps its
 *   host name, not its namespace). Two live containers or machines with one host name sharing a
 *   volume would be taken for this: give them distinct host names.
 * - Same host name, nothing else known (not Linux): alive iff the pid exists (a reused pid reads
 *   as alive: refused, never wrongly recovered).
 * - Another or unknown host: cannot be checked from here: unknown (refused).
 */
export function judge(rec: OwnerRecord, self: Omit<OwnerRecord, "nonce">, fs: Pick<FsLike, "readFileSync">, exists: (pid: number) => boolean): Verdict {
  if (rec.boot !== null && rec.boot === self.boot && rec.pidns !== null && rec.pidns === self.pidns) {
    const fields = statFields(fs as FsLike, rec.pid);
    if (fields === null) return { state: "dead", why: `no process ${rec.pid}` };
    if (fields[0] === "Z" || fields[0] === "X") return { state: "dead", why: `process ${rec.pid} has exited` };
    if (rec.start !== null && fields[19] !== rec.start) return { state: "dead", why: `pid ${rec.pid} now belongs to another process` };
    return { state: "alive", why: `process ${rec.pid} is running` };
  }
  if (rec.host !== null && rec.host === self.host) {
    if (rec.boot !== null && self.boot !== null && rec.boot !== self.boot) return { state: "dead", why: `host ${rec.host} restarted since` };
    if (rec.pidns !== null && self.pidns !== null && rec.pidns !== self.pidns) {
      return { state: "dead", why: `container ${rec.host} restarted since (another PID namespace)` };
    }
    return exists(rec.pid) ? { state: "alive", why: `process ${rec.pid} exists` } : { state: "dead", why: `no process ${rec.pid}` };
  }
  return { state: "unknown", why: `it runs on ${rec.host === null ? "an unknown host" : `host ${rec.host}`} and cannot be checked from ${self.host ?? "here"}` };
}

function pidExists(pid: number): boolean {
  try {
    (globalThis as unknown as { process: { kill(pid: number, signal: number): void } }).process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"; // exists, owned by another user
  }
}

function parse(text: string): OwnerRecord | null {
  try {
    const r = JSON.parse(text) as Partial<OwnerRecord>;
    if (!Number.isSafeInteger(r.pid) || typeof r.nonce !== "string") return null;
    const s = (v: unknown) => (typeof v === "string" ? v : null);
    return { pid: r.pid!, start: s(r.start), boot: s(r.boot), pidns: s(r.pidns), host: s(r.host), nonce: r.nonce };
  } catch {
    return null;
  }
}

/**
 * Linux only: another process of this PID namespace with `file` open (it opened the file without
 * an owner record, e.g. plain node-sqlite3-wasm). Other users' processes are not readable and not
 * reported. Only asked before a recovery, which must never run under a live connection.
 */
function otherHolder(fs: FsLike, file: string, self: number): number | undefined {
  const real = attempt(() => fs.realpathSync(file));
  const pids = real === null ? null : attempt(() => fs.readdirSync("/proc"));
  if (pids === null) return undefined;
  for (const name of pids) {
    if (!/^\d+$/.test(name) || Number(name) === self) continue;
    const fds = attempt(() => fs.readdirSync(`/proc/${name}/fd`));
    if (fds === null) continue;
    for (const fd of fds) if (attempt(() => fs.readlinkSync(`/proc/${name}/fd/${fd}`)) === real) return Number(name);
  }
  return undefined;
}

/** Files held by this process: path → our record's nonce and how many handles share it. */
type Held = Map<string, { nonce: string; count: number }>;
// On globalThis, so the ESM and CJS builds of this package loaded side by side share it.
const registry: Held = ((globalThis as Record<symbol, Held>)[Symbol.for("replic.wasm.fileOwners")] ??= new Map());

export function ownerPath(file: string): string {
  return `${file}.replic-owner`;
}

function describe(rec: OwnerRecord): string {
  return `process ${rec.pid}${rec.host ? ` on ${rec.host}` : ""}`;
}

/**
 * Takes (or shares) ownership of `file` for this process, recovering it first when the last owner
 * died. Returns the function that gives it back; call it once, when the handle closes.
 */
export function claimFile(file: string): () => void {
  const { fs, path } = builtins();
  const key = path.resolve(file);
  const held = registry.get(key);
  if (held) {
    held.count++;
    return once(() => release(fs, key));
  }
  const self = currentProcess();
  const mine: OwnerRecord = { ...self, nonce: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}` };
  const record = ownerPath(key);
  for (let round = 0; ; round++) {
    if (round === 8) throw new DatabaseLockedError(key, `replic: could not take ${record}: other processes keep replacing it`);
    // Write to a private name, then link: the record appears whole or not at all.
    const temp = `${record}.${self.pid}.${mine.nonce}`;
    fs.writeFileSync(temp, JSON.stringify(mine), { flag: "wx" });
    let linked = false;
    try {
      fs.linkSync(temp, record);
      linked = true;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
    } finally {
      fs.unlinkSync(temp);
    }
    if (linked) break;

    const text = attempt(() => fs.readFileSync(record, "utf8"));
    if (text === null) continue; // given back meanwhile: try again
    const rec = parse(text);
    if (rec !== null) {
      const verdict = judge(rec, self, fs, pidExists);
      if (verdict.state === "alive") {
        throw new DatabaseLockedError(key, `replic: ${key} is open in ${describe(rec)} (${verdict.why}); one process at a time may open a node-sqlite3-wasm file`, {
          pid: rec.pid,
          host: rec.host ?? undefined,
        });
      }
      if (verdict.state === "unknown") {
        throw new DatabaseLockedError(
          key,
          `replic: ${key} is held by ${describe(rec)}, whose liveness cannot be checked here (${verdict.why}); if that process is gone, delete ${record}`,
          { pid: rec.pid, host: rec.host ?? undefined },
        );
      }
    }
    // A dead owner (or an unreadable record): move it aside, but only if it is still the one judged.
    const aside = `${record}.stale.${self.pid}.${mine.nonce}`;
    try {
      fs.renameSync(record, aside);
    } catch {
      continue; // someone else took it over first
    }
    if (attempt(() => fs.readFileSync(aside, "utf8")) !== text) {
      attempt(() => fs.linkSync(aside, record)); // a newer owner's record: put it back
    }
    fs.unlinkSync(aside);
  }
  registry.set(key, { nonce: mine.nonce, count: 1 });
  try {
    if (fs.existsSync(`${key}.lock`) || fs.existsSync(`${key}-journal`)) {
      const holder = otherHolder(fs, key, self.pid);
      if (holder !== undefined) {
        throw new DatabaseLockedError(key, `replic: ${key} is locked and open in process ${holder}, which did not record itself; not recovering under it`, { pid: holder });
      }
      recoverAfterCrash(key);
    }
  } catch (e) {
    release(fs, key);
    throw e;
  }
  return once(() => release(fs, key));
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function release(fs: FsLike, key: string): void {
  const held = registry.get(key);
  if (!held || --held.count > 0) return;
  registry.delete(key);
  const record = ownerPath(key);
  // Only our own record: never one that another process took over from us.
  if (parse(attempt(() => fs.readFileSync(record, "utf8")) ?? "")?.nonce === held.nonce) attempt(() => fs.unlinkSync(record));
}
