// Docs that run: every ```js block of this package's README is executed with Node against a real
// nats-server (the README's default URL pointed at the test server's port) and must exit 0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { NatsServer } from "./nats-server.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m, i) => ({ code: m[1], i }));
let nats: NatsServer;
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(() => nats.down());

describe("README code blocks run", () => {
  it("has runnable blocks", () => expect(blocks.length).toBeGreaterThan(0));
  for (const b of blocks) {
    it(`block ${b.i + 1}`, () => {
      const dir = join(root, "test", ".snippets");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `readme-${b.i + 1}.mjs`);
      writeFileSync(file, b.code.replaceAll("nats://127.0.0.1:4222", nats.url));
      const res = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 30_000, cwd: root });
      expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
      expect(res.stdout).toMatch(/buy milk/);
    }, 40_000);
  }
});
