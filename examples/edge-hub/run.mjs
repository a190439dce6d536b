// The edge hub, locally: worker.ts (a ReplicHub Durable Object on SQLite storage) runs in workerd
// through miniflare, as `wrangler deploy` would run it; a Node spoke (better-sqlite3) and a Bun
// spoke (bun:sqlite) dial it over WebSocket and write for 3 s; then both files and the hub's own
// database hold the same notes. Run: npm run demo:edge
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { launch, settle } from "../lib/launch.mjs";

console.log("replic at the edge: a Durable Object hub in workerd, a Node spoke and a Bun spoke, all writing for 3 s");
const dir = mkdtempSync(join(tmpdir(), "replic-edge-hub-"));
const here = fileURLToPath(new URL(".", import.meta.url));

// What wrangler does on deploy: one ES module with the Worker and its imports.
const script = join(dir, "worker.mjs");
await build({ entryPoints: [join(here, "worker.ts")], outfile: script, bundle: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], conditions: ["workerd", "worker", "browser", "import"], logLevel: "error" });

const mf = new Miniflare({
  modules: true,
  modulesRoot: dir,
  scriptPath: script,
  compatibilityDate: "2025-04-01", // as in wrangler.toml
  durableObjects: { HUB: { className: "Hub", useSQLite: true } },
  durableObjectsPersist: join(dir, "hub"),
  bindings: { REPLIC_SECRET: "edge-hub-example" },
  host: "127.0.0.1",
  port: 0,
});
const base = (await mf.ready).href.replace(/\/$/, "");
const url = `${base.replace(/^http/, "ws")}/replic`;
console.log(`hub   Durable Object in workerd at ${url}`);

const spokes = [launch(join(here, "spoke.mjs"), ["node", "node", join(dir, "node.db"), url], "node"), launch(join(here, "spoke.mjs"), ["bun", "bun", join(dir, "bun.db"), url], "bun")];
for (const p of spokes) {
  const r = await p.next("ready");
  console.log(`${r.name.padEnd(5)} peer ${r.peerId} on ${r.runtime}, dialling the hub`);
}
await new Promise((r) => setTimeout(r, 3000));
let { same, dumps, ms } = await settle(spokes);
// The hub's own rows too (its /notes route reads the object's SQLite).
const started = Date.now();
let hubRows = await (await mf.dispatchFetch(`${base}/notes`)).text();
while (hubRows !== dumps[0].rows && Date.now() - started < 10_000) {
  await new Promise((r) => setTimeout(r, 200));
  hubRows = await (await mf.dispatchFetch(`${base}/notes`)).text();
}
same = same && hubRows === dumps[0].rows;
console.log(`converged: ${same ? "yes" : "NO"} (${ms} ms after the writes stopped)`);
console.log(`  hub   ${JSON.parse(hubRows).length} notes`);
for (const d of dumps) console.log(`  ${d.name.padEnd(5)} ${d.count} notes; pinned notes last edited by ${d.pinned.join(", ")}`);
for (const p of spokes) p.send({ cmd: "exit" });
await Promise.all(spokes.map((p) => p.exited));
await mf.dispose();
rmSync(dir, { recursive: true, force: true });
process.exitCode = same ? 0 : 1;
