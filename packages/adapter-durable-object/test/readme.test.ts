// Docs that run: the README's one ```ts block is a whole Worker. It is bundled as wrangler would,
// run in workerd with the Durable Object binding and migration of the README's wrangler.toml,
// and a Node replica dials it with connectWebSocket: its writes reach the hub and come back.
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { freePort } from "@replic/conformance/peer-process";
import { openReplica } from "@replic/adapter-node";
import { connectWebSocket } from "@replic/transport-ws";
import { bundleWorker, Workerd } from "./workerd";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const block = (lang: string) => [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
const dir = mkdtempSync(join(tmpdir(), "replic-do-readme-"));
let w: Workerd | undefined;

afterAll(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("README", () => {
  it("has one Worker block and one wrangler.toml", () => {
    expect(block("ts")).toHaveLength(1);
    expect(block("toml")).toHaveLength(1);
  });

  it("the Worker runs in workerd as wrangler.toml declares it, and a Node replica syncs through it", async () => {
    const toml = block("toml")[0]!;
    const binding = /\[\[durable_objects\.bindings\]\]\s*name = "(\w+)"\s*class_name = "(\w+)"/.exec(toml);
    const sqlite = /new_sqlite_classes = \["(\w+)"\]/.exec(toml);
    expect(binding && sqlite && binding[2] === sqlite[1]).toBe(true);
    const snippets = join(root, "test", ".snippets");
    mkdirSync(snippets, { recursive: true });
    const entry = join(snippets, "readme-worker.ts");
    writeFileSync(entry, block("ts")[0]!);
    const script = await bundleWorker(join(dir, "build"), entry, { "@replic/adapter-durable-object": join(root, "dist", "index.js") });
    const secret = "readme-secret";
    w = await Workerd.start({
      script,
      persist: join(dir, "persist"),
      port: await freePort(),
      durableObjects: { [binding![1]!]: { className: binding![2]!, useSQLite: true } },
      bindings: { REPLIC_SECRET: secret },
    });

    const db = new Database(":memory:");
    const replica = openReplica(db, { heartbeatMs: 200, logger: { warn: () => {} } });
    replica.migrate([{ up: /up: `([\s\S]*?)`/.exec(block("ts")[0]!)![1]!, down: "DROP TABLE todos_patches; DROP TABLE todos;" }]);
    const link = connectWebSocket(replica, w.wsUrl, { secret, logger: { warn: () => {} } });
    await link.linked();
    replica.upsert("todos", { id: "t1", title: "write the docs", done: 0 });
    let hubHas = 0;
    for (let i = 0; i < 50 && hubHas < 1; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const status = await w.json<{ origins: { peerId: number; contiguous: number }[] }>("/replic/status");
      hubHas = status.origins.find((o) => o.peerId === replica.peerId)?.contiguous ?? 0;
    }
    expect(hubHas).toBe(1);
    const metrics = await (await w.fetch("/replic/metrics")).text();
    expect(metrics).toMatch(/replic_hub_linked_peers 1/);
    await link.close();
    replica.close();
    db.close();
  }, 60_000);
});
