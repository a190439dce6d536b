// Three processes, three runtimes, one WebSocket hub: a Bun process (bun:sqlite) is the hub, a
// Node process (better-sqlite3) and a Node process on WASM SQLite (node-sqlite3-wasm) dial it.
// Each has its own database file; all three write for a few seconds; then every file holds the
// same rows. Run: npm run demo:ws
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, settle } from "../lib/launch.mjs";

console.log("replic over WebSocket: three processes (a Bun hub, a Node spoke, a Node + WASM SQLite spoke), each with its own file, all writing for 3 s");
const dir = mkdtempSync(join(tmpdir(), "replic-ws-hub-"));
const peerScript = fileURLToPath(new URL("./peer.mjs", import.meta.url));
const hub = launch(peerScript, ["bun", "bun", join(dir, "bun.db")], "bun");
const { url } = await hub.next("listening");
const spokes = [
  launch(peerScript, ["node", "node", join(dir, "node.db"), url], "node"),
  launch(peerScript, ["wasm", "wasm", join(dir, "wasm.db"), url], "node"),
];
const peers = [hub, ...spokes];
for (const p of peers) {
  const r = await p.next("ready");
  console.log(`${r.name.padEnd(5)} peer ${r.peerId} on ${r.runtime}${p === hub ? `, hub at ${url}` : ", dialling the hub"}`);
}
await new Promise((r) => setTimeout(r, 3000));
const { same, dumps, ms } = await settle(peers);
console.log(`converged: ${same ? "yes" : "NO"} (${ms} ms after the writes stopped)`);
for (const d of dumps) console.log(`  ${d.name.padEnd(5)} ${d.count} notes; pinned notes last edited by ${d.pinned.join(", ")}`);
for (const p of peers) p.send({ cmd: "exit" });
await Promise.all(peers.map((p) => p.exited));
rmSync(dir, { recursive: true, force: true });
process.exitCode = same ? 0 : 1;
