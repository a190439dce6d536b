// The two programs the suite needs besides Node and npm, both from Debian: nats-server (the NATS
// tests, the README's NATS blocks, `npm run demo:nats`) and chromium (the browser tests). They are
// looked up on PATH and where Debian puts them: nats-server lives in /usr/sbin, which a non-login
// PATH lacks. `npm test` installs the missing ones with apt-get when it runs as root, and
// otherwise prints, one line per program, what to run (ensureSystemTools below).
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** name: the program; apt: its Debian package; usedBy: what fails without it; env: an override. */
export const SYSTEM_TOOLS = [
  { name: "nats-server", apt: "nats-server", usedBy: "the NATS tests and the README's NATS blocks" },
  { name: "chromium", apt: "chromium", usedBy: "the browser tests (examples/browser)", env: "REPLIC_CHROMIUM" },
];

/** Where Debian installs programs, searched after PATH. */
export const DEBIAN_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of program `name`: its override variable when the tool has one and it is set
 * (REPLIC_CHROMIUM, returned only if it is executable), else the first executable on PATH, else
 * in DEBIAN_DIRS. undefined when there is none.
 */
export function findTool(name, env = process.env) {
  const override = SYSTEM_TOOLS.find((t) => t.name === name)?.env;
  if (override && env[override]) return executable(env[override]) ? env[override] : undefined;
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), ...DEBIAN_DIRS];
  for (const dir of dirs) {
    const file = join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/** PATH with Debian's directories appended, for child processes that look programs up by name. */
export function pathWithDebianDirs(path = process.env.PATH ?? "") {
  const have = new Set(path.split(delimiter));
  return [path, ...DEBIAN_DIRS.filter((d) => !have.has(d))].filter(Boolean).join(delimiter);
}

/** The command a user runs to install `tools` (entries of SYSTEM_TOOLS). */
export function installCommand(tools, { root = false } = {}) {
  const sudo = root ? "" : "sudo ";
  return `${sudo}apt-get update && ${sudo}apt-get install -y ${tools.map((t) => t.apt).join(" ")}`;
}

/**
 * Makes sure every tool is there. Missing ones are installed from Debian (`apt-get update`, then
 * one `apt-get install -y` of exactly those packages) when running as root with apt-get present;
 * otherwise nothing is run and one line per missing tool says what to run. Returns the tools still
 * missing afterwards and the lines printed (each also passed to `log`).
 * `find`, `isRoot`, `hasApt` and `run` are the outside world, replaceable by tests.
 */
export function ensureSystemTools({
  tools = SYSTEM_TOOLS,
  find = (name) => findTool(name),
  isRoot = typeof process.getuid === "function" && process.getuid() === 0,
  hasApt = Boolean(findTool("apt-get")),
  run = (cmd, args) => spawnSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status,
  log = (line) => console.log(line),
} = {}) {
  const lines = [];
  const say = (line) => {
    lines.push(line);
    log(line);
  };
  const missing = tools.filter((t) => !find(t.name));
  if (missing.length === 0) return { missing, lines };
  if (isRoot && hasApt) {
    say(`installing from Debian: ${missing.map((t) => t.apt).join(", ")} (apt-get update, then apt-get install -y)`);
    const updated = run("apt-get", ["update", "-qq"]);
    const installed = updated === 0 ? run("apt-get", ["install", "-y", "-qq", ...missing.map((t) => t.apt)]) : updated;
    if (installed !== 0) say(`apt-get ${updated === 0 ? "install" : "update"} exited with code ${installed}`);
  }
  const still = missing.filter((t) => !find(t.name));
  for (const t of still) {
    say(`missing ${t.name}, needed by ${t.usedBy}: run \`${installCommand([t], { root: isRoot })}\`${t.env ? ` (or set ${t.env})` : ""}`);
  }
  return { missing: still, lines };
}
