// Docs that run: every code block of the root README.md is executed. A complete program runs as
// written in a fresh temp dir (```js under Node, ```ts under the real Bun binary); a fragment runs
// inside the prelude named by the `<!-- runs with prelude: NAME -->` comment above it
// (test/preludes/NAME.mjs or .ts, the block inserted at `// @block`). Fixed ports in a block
// (8080 for WebSocket, 4222 for NATS) are pointed at free loopback ports; NATS blocks get a real
// nats-server. A `// ` comment under a `console.log(` line is the block's promised output and
// must appear in stdout. ```sh blocks are commands (not run); plain fences are text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatsServer } from "../../packages/transport-nats/test/nats-server.js";
import { BUN, blockSource, examples, repoRoot as root, runBlock } from "./block-runner.js";
import { guideFiles, runGuideSteps, writeGuideFiles } from "./getting-started.js";
import { codeBlocks, expectedOutput, printsInOrder, type CodeBlock } from "./code-blocks.js";

const blocks = codeBlocks(readFileSync(join(root, "README.md"), "utf8"));
const runnable = blocks.filter((b) => b.lang === "js" || b.lang === "ts");
const work = mkdtempSync(join(tmpdir(), "replic-readme-"));
let nats: NatsServer | undefined;

beforeAll(async () => {
  if (runnable.some((b) => blockSource(b).includes("nats://"))) nats = await NatsServer.start();
});
afterAll(async () => {
  await nats?.down();
  rmSync(work, { recursive: true, force: true });
});

const run = (b: CodeBlock) => runBlock(b, work, { ports: { 8080: undefined, 4222: nats?.port }, env: { REPLIC_SECRET: "readme-secret" } });

describe("root README code blocks", () => {
  it("every block is js, ts, sh or plain text, and there is code to run", () => {
    expect(blocks.filter((b) => !["js", "ts", "sh", ""].includes(b.lang)).map((b) => `line ${b.line}: ${b.lang}`)).toEqual([]);
    expect(runnable.length).toBeGreaterThanOrEqual(3);
    expect(runnable.some((b) => b.prelude)).toBe(true);
  });

  it("a complete program names its file, and on Node that file is an ES module whatever package.json says", () => {
    const programs = runnable.filter((b) => !b.prelude);
    expect(programs.map((b) => `line ${b.line}: ${b.file ?? "no file name"}`).filter((s) => s.endsWith("no file name"))).toEqual([]);
    expect(programs.filter((b) => b.lang === "js" && !b.file!.endsWith(".mjs")).map((b) => b.file)).toEqual([]);
    // The README shows the program on Node and on Bun.
    expect(programs.map((b) => b.lang).sort()).toEqual(expect.arrayContaining(["js", "ts"]));
  });

  for (const b of runnable) {
    const how = `${b.lang === "js" ? "Node" : "Bun"}${b.prelude ? `, prelude ${b.prelude}` : ", as written"}`;
    it(`block at line ${b.line} runs (${how})`, async () => {
      const res = await run(b);
      expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
      for (const pieces of expectedOutput(b.code)) {
        expect(printsInOrder(res.stdout, pieces), `expected ${pieces.join(" ... ")}\nin:\n${res.stdout}`).toBe(true);
      }
    }, 40_000);
  }
});

describe("docs/getting-started.md", () => {
  // Its blocks are the files of one app. Here they run in the workspace; packed-install.test.ts
  // (transport-ws) runs them from the packed tarballs with npm, pnpm and Bun.
  it("every code block is a named file of the guide's app", () => {
    const guide = codeBlocks(readFileSync(join(root, "docs", "getting-started.md"), "utf8"));
    const code = guide.filter((b) => b.lang !== "sh" && b.lang !== "");
    expect(code.filter((b) => !b.file).map((b) => `line ${b.line}`)).toEqual([]);
    expect(code.map((b) => b.file).sort()).toEqual(["client.mjs", "schema.mjs", "server.mjs", "server.ts", "tsconfig.json"]);
    expect(Object.keys(guideFiles()).sort()).toEqual(["client.mjs", "schema.mjs", "server.mjs", "server.ts", "tsconfig.json"]);
  });

  function app(): string {
    const dir = mkdtempSync(join(work, "guide-"));
    symlinkSync(join(examples, "node_modules"), join(dir, "node_modules"), "dir");
    writeGuideFiles(dir);
    return dir;
  }

  it("server.ts passes tsc --strict with the guide's tsconfig.json", () => {
    const dir = app();
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc", { paths: [root] });
    // @types/bun as a user installs it (here: the one the Bun adapter is developed with).
    const typeRoots = join(root, "packages", "adapter-bun", "node_modules", "@types");
    const res = spawnSync(process.execPath, [tsc, "-p", ".", "--typeRoots", typeRoots], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
    // The check is real: a strict error in the same file fails it.
    writeFileSync(join(dir, "server.ts"), readFileSync(join(dir, "server.ts"), "utf8").replace("db.query<{ title: string }, []>(", "db.query("));
    const broken = spawnSync(process.execPath, [tsc, "-p", ".", "--typeRoots", typeRoots], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    expect(broken.stdout).toMatch(/TS18046/);
  }, 150_000);

  it("section 5 works as written with the Node server: link, write, server stopped, offline write, restart, converged", async () => {
    const out = await runGuideSteps(app(), [process.execPath, "server.mjs"]);
    expect(out.client).toMatch(/wrote \d+\.1; todos: first todo, written on the server/);
  }, 120_000);

  it("and with the Bun server (server.ts)", async () => {
    await runGuideSteps(app(), [BUN, "server.ts"]);
  }, 120_000);
});

describe("the block harness", () => {
  const md = "text\n<!-- runs with prelude: p -->\n```js\nconsole.log(f());\n// a ... c\n```\n\n```sh\nnpm test\n```\n";
  it("reads the prelude comment and the promised output", () => {
    const [js, sh] = codeBlocks(md);
    expect(js).toMatchObject({ lang: "js", prelude: "p", line: 3 });
    expect(sh).toMatchObject({ lang: "sh", line: 8 });
    expect(sh.prelude).toBeUndefined();
    expect(expectedOutput(js.code)).toEqual([["a", "c"]]);
  });
  it("matches promised output in order only", () => {
    expect(printsInOrder("a\n  b c", ["a", "c"])).toBe(true);
    expect(printsInOrder("c b a", ["a", "c"])).toBe(false);
  });
});
