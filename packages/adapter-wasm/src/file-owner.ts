/**
 * One process at a time on a node-sqlite3-wasm file, and recovery after a crash without a human.
 *
 * node-sqlite3-wasm's only lock is a `<file>.lock` directory, made and removed around every
 * transaction. It holds no process id, so after a kill -9 inside a transaction nobody can tell a
 * stale one from a live transaction. The open helpers therefore keep an owner record next to the
 * file, `<file>.replic-owner`, for as long as the file is open: the owner's pid and what tells a
 * live process from a dead one with the same pid (see `judge`). Where the runtime can (Deno), the
 * owner also holds an advisory lock (flock) on the record, which the kernel drops when the
 * process dies, whatever killed it. Opening a file:
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
  statSync(path: string): { ino: number };
}

/** Deno's file locks (flock): the only runtime here with them. */
interface DenoFile {
  lockSync(exclusive?: boolean): void;
  tryLockSync(exclusive?: boolean): boolean;
  close(): void;
}
interface DenoLike {
  openSync(path: string, options: { read?: boolean; write?: boolean }): DenoFile;
}
function denoFiles(): DenoLike | undefined {
  const deno = (globalThis as { Deno?: Partial<DenoLike> & { FsFile?: { prototype: Partial<DenoFile> } } }).Deno;
  return typeof deno?.openSync === "function" && typeof deno.FsFile?.prototype.tryLockSync === "function" ? (deno as DenoLike) : undefined;
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
  /** "flock": the owner holds an advisory lock on the record while it lives (Deno). */
  lock: "flock" | null;
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

export type ProcessFacts = Omit<OwnerRecord, "nonce">;
let selfCache: ProcessFacts | undefined;

/** This process, as a record would describe it. */
export function currentProcess(): ProcessFacts {
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
    lock: denoFiles() ? "flock" : null,
  };
  return selfCache;
}

export type Verdict = { state: "alive" | "dead" | "unknown"; why: string };

/** What a judge can ask about the world (parameters, so tests can play other hosts). */
export interface Probes {
  readFileSync(path: string, encoding: "utf8"): string;
  /** Does `pid` exist on this host? undefined: cannot tell (no permission). */
  exists(pid: number): boolean | undefined;
  /** Does a live process hold a flock on the record? undefined: cannot tell. */
  flockHeld(): boolean | undefined;
}

/**
 * Is the process of `rec` alive? `self` is this process.
 * - The owner holds a flock on the record (Deno): alive iff the lock is still held, which Deno
 *   tries directly and Linux shows in /proc/locks (for every PID namespace of the host).
 * - Same boot and PID namespace (Linux): alive iff /proc/<pid> exists, is no zombie and started
 *   at the recorded time; a pid reused by another process started at another time.
 * - Same host name, another boot: the host restarted since, so the process is gone. Same host
 *   name and boot, another PID namespace: the same container restarted (a container keeps its
 *   host name, not its namespace). Two live containers or machines with one host name sharing a
 *   volume would be taken for this: give them distinct host names.
 * - Same host name, nothing else known (not Linux): alive iff the pid exists (a reused pid reads
 *   as alive: refused, never wrongly recovered).
 * - Another or unknown host, or a question this process may not ask: unknown (refused).
 */
export function judge(rec: OwnerRecord, self: ProcessFacts, probes: Probes): Verdict {
  if (rec.lock === "flock") {
    const held = probes.flockHeld();
    if (held !== undefined) return held ? { state: "alive", why: `process ${rec.pid} holds its lock` } : { state: "dead", why: `the lock of process ${rec.pid} was released` };
  }
  if (rec.boot !== null && rec.boot === self.boot && rec.pidns !== null && rec.pidns === self.pidns) {
    const fields = statFields(probes as unknown as FsLike, rec.pid);
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
    const exists = probes.exists(rec.pid);
    if (exists !== undefined) return exists ? { state: "alive", why: `process ${rec.pid} exists` } : { state: "dead", why: `no process ${rec.pid}` };
  }
  const where = rec.host === null ? "an unknown host" : `host ${rec.host}`;
  return { state: "unknown", why: `it runs on ${where} and cannot be checked from ${self.host ?? "here"}` };
}

function pidExists(pid: number): boolean | undefined {
  try {
    (globalThis as unknown as { process: { kill(pid: number, signal: number): void } }).process.kill(pid, 0);
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ESRCH") return false;
    return code === "EPERM" ? true : undefined; // EPERM: exists, another user's; else not allowed to ask (Deno)
  }
}

/** Is a flock held on `record`? Deno tries it; elsewhere Linux's /proc/locks lists it by inode. */
function flockHeld(fs: FsLike, record: string): boolean | undefined {
  const deno = denoFiles();
  if (deno) {
    const f = attempt(() => deno.openSync(record, { read: true, write: true }));
    if (f === null) return undefined;
    try {
      return !f.tryLockSync(true); // got it: nobody holds it (closing drops ours)
    } finally {
      f.close();
    }
  }
  const ino = attempt(() => fs.statSync(record).ino);
  const locks = attempt(() => fs.readFileSync("/proc/locks", "utf8"));
  if (ino === null || locks === null) return undefined;
  // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (POSIX or OFDLCK for other kinds; "->"
  // marks a waiter): the inode is the last part of field 6.
  return locks.split("\n").some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1] !== "->" && Number(f[5]?.split(":")[2]) === ino;
  });
}

function parse(text: string): OwnerRecord | null {
  try {
    const r = JSON.parse(text) as Partial<OwnerRecord>;
    if (!Number.isSafeInteger(r.pid) || typeof r.nonce !== "string") return null;
    const s = (v: unknown) => (typeof v === "string" ? v : null);
    return { pid: r.pid!, start: s(r.start), boot: s(r.boot), pidns: s(r.pidns), host: s(r.host), lock: r.lock === "flock" ? "flock" : null, nonce: r.nonce };
  } catch {
    return null;
  }
}

/**
 * Linux only: another process of this PID namespace with `file` open (it opened the file without
 * an owner record, e.g. plain node-sqlite3-wasm). Other users' processes are not readable and not
 * reported. Asked before recovering a file that has no owner record, since a recovery must never
 * run under a live connection.
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

/** Files held by this process: path → our record's nonce, how many handles share it, our flock. */
type Held = Map<string, { nonce: string; count: number; flock: DenoFile | undefined }>;
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
  const deno = denoFiles();
  let flock: DenoFile | undefined;
  let tookOver = false; // the record of a dead owner was there: its lock and journal are its own
  for (let round = 0; ; round++) {
    if (round === 8) throw new DatabaseLockedError(key, `replic: could not take ${record}: other processes keep replacing it`);
    // Write to a private name (locked first, where flock exists), then link: the record appears
    // whole, and locked, or not at all.
    const temp = `${record}.${self.pid}.${mine.nonce}`;
    fs.writeFileSync(temp, JSON.stringify(mine), { flag: "wx" });
    let linked = false;
    try {
      if (deno) {
        flock = deno.openSync(temp, { read: true, write: true });
        flock.lockSync(true);
      }
      fs.linkSync(temp, record);
      linked = true;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST" && !(e instanceof Error && e.name === "AlreadyExists")) throw e;
    } finally {
      fs.unlinkSync(temp);
      if (!linked) {
        flock?.close();
        flock = undefined;
      }
    }
    if (linked) break;

    const text = attempt(() => fs.readFileSync(record, "utf8"));
    if (text === null) continue; // given back meanwhile: try again
    const rec = parse(text);
    tookOver = true;
    if (rec !== null) {
      const verdict = judge(rec, self, { readFileSync: fs.readFileSync, exists: pidExists, flockHeld: () => flockHeld(fs, record) });
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
  registry.set(key, { nonce: mine.nonce, count: 1, flock });
  try {
    if (fs.existsSync(`${key}.lock`) || fs.existsSync(`${key}-journal`)) {
      // No record: the file was last used without one (plain node-sqlite3-wasm), so make sure no
      // such process is still at it before touching anything.
      const holder = tookOver ? undefined : otherHolder(fs, key, self.pid);
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
  held.flock?.close();
}
