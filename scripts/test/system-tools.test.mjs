// scripts/system-tools.mjs: where nats-server and chromium are found, and what `npm test` does
// when one is missing (installs it as root, else says what to run), with the outside world faked.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import { DEBIAN_DIRS, SYSTEM_TOOLS, ensureSystemTools, findTool, installCommand, pathWithDebianDirs } from "../system-tools.mjs";

const base = mkdtempSync(join(tmpdir(), "replic-tools-"));
after(() => rmSync(base, { recursive: true, force: true }));

function program(dir, name, mode = 0o755) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, "#!/bin/sh\n");
  chmodSync(file, mode);
  return file;
}

test("a program is found on PATH, in PATH order, and only when executable", () => {
  const a = join(base, "a");
  const b = join(base, "b");
  program(a, "replic-tool-x", 0o644);
  const inB = program(b, "replic-tool-x");
  assert.equal(findTool("replic-tool-x", { PATH: [a, b].join(delimiter) }), inB);
  const inA = program(a, "replic-tool-y");
  program(b, "replic-tool-y");
  assert.equal(findTool("replic-tool-y", { PATH: [a, b].join(delimiter) }), inA);
  assert.equal(findTool("replic-tool-none", { PATH: a }), undefined);
});

test("Debian's sbin directories are searched when PATH lacks them (nats-server lives in /usr/sbin)", () => {
  assert.deepEqual(DEBIAN_DIRS.slice(0, 2), ["/usr/sbin", "/sbin"]);
  // `sh` is in /bin or /usr/bin on every Debian machine: found with an empty PATH.
  assert.match(findTool("sh", { PATH: "" }) ?? "", /^\/(usr\/)?bin\/sh$/);
  assert.equal(pathWithDebianDirs("/usr/bin:/opt/x"), "/usr/bin:/opt/x:/usr/sbin:/sbin:/bin");
  assert.equal(pathWithDebianDirs(""), DEBIAN_DIRS.join(delimiter));
});

test("REPLIC_CHROMIUM overrides the lookup for chromium, and must be executable", () => {
  const mine = program(join(base, "c"), "my-chromium");
  assert.equal(findTool("chromium", { PATH: "", REPLIC_CHROMIUM: mine }), mine);
  assert.equal(findTool("chromium", { PATH: "", REPLIC_CHROMIUM: join(base, "c", "absent") }), undefined);
});

/** A fake machine: `have` is what is installed; apt-get installs what it is asked for. */
function machine({ have = [], isRoot, hasApt = true, aptFails = false }) {
  const installed = new Set(have);
  const ran = [];
  const lines = [];
  const result = ensureSystemTools({
    find: (name) => (installed.has(name) ? `/usr/bin/${name}` : undefined),
    isRoot,
    hasApt,
    run: (cmd, args) => {
      ran.push([cmd, ...args].join(" "));
      if (aptFails) return 100;
      if (args[0] === "install") for (const a of args.slice(1)) if (!a.startsWith("-")) installed.add(a);
      return 0;
    },
    log: (l) => lines.push(l),
  });
  return { ran, lines, result };
}

test("nothing missing: nothing runs and nothing is printed", () => {
  const m = machine({ have: ["nats-server", "chromium"], isRoot: true });
  assert.deepEqual([m.ran, m.lines, m.result.missing], [[], [], []]);
});

test("as root: apt-get update first, then one install of exactly the missing packages", () => {
  const m = machine({ have: ["chromium"], isRoot: true });
  assert.deepEqual(m.ran, ["apt-get update -qq", "apt-get install -y -qq nats-server"]);
  assert.deepEqual(m.result.missing, []);
  const both = machine({ isRoot: true });
  assert.deepEqual(both.ran, ["apt-get update -qq", "apt-get install -y -qq nats-server chromium"]);
});

test("not root: nothing runs, one line per missing program says what to run", () => {
  const m = machine({ isRoot: false });
  assert.deepEqual(m.ran, []);
  assert.deepEqual(m.result.missing.map((t) => t.name), ["nats-server", "chromium"]);
  assert.equal(m.lines.length, 2);
  assert.equal(m.lines[0], "missing nats-server, needed by the NATS tests and the README's NATS blocks: run `sudo apt-get update && sudo apt-get install -y nats-server`");
  assert.match(m.lines[1], /^missing chromium, needed by the browser tests.*`sudo apt-get update && sudo apt-get install -y chromium` \(or set REPLIC_CHROMIUM\)$/);
});

test("root without apt-get, or a failing apt-get: the missing programs are still named", () => {
  const noApt = machine({ isRoot: true, hasApt: false });
  assert.deepEqual(noApt.ran, []);
  assert.equal(noApt.lines.filter((l) => l.startsWith("missing ")).length, 2);
  const failing = machine({ have: ["chromium"], isRoot: true, aptFails: true });
  assert.deepEqual(failing.ran, ["apt-get update -qq"]);
  assert.ok(failing.lines.includes("apt-get update exited with code 100"));
  assert.deepEqual(failing.result.missing.map((t) => t.name), ["nats-server"]);
  assert.match(failing.lines.at(-1), /^missing nats-server, .*run `apt-get update && apt-get install -y nats-server`$/);
});

test("the install command names Debian packages", () => {
  assert.equal(installCommand(SYSTEM_TOOLS, { root: true }), "apt-get update && apt-get install -y nats-server chromium");
});
