// A NATS cluster of three processes on three runtimes (Bun, Node, Node + WASM), each with its own
// database file. It starts its own nats-server on a free loopback port (Debian: apt-get install
// nats-server; found on PATH or in /usr/sbin), restarts it while everyone writes, and shows that
// all files end up the same.
// Run: npm run demo:nats
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findTool, installCommand, SYSTEM_TOOLS } from "../../scripts/system-tools.mjs";
import { launch, settle } from "../lib/launch.mjs";

const natsServer = findTool("nats-server");
if (!natsServer) {
  console.error(`this example needs nats-server: run \`${installCommand(SYSTEM_TOOLS.filter((t) => t.name === "nats-server"))}\``);
  process.exit(1);
}
const free = createServer().listen(0, "127.0.0.1");
await new Promise((r) => free.once("listening", r));
const port = free.address().port;
free.close();
const startServer = () => spawn(natsServer, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
let server = startServer();
await new Promise((r) => setTimeout(r, 300));

const dir = mkdtempSync(join(tmpdir(), "replic-nats-"));
const peerScript = fileURLToPath(new URL("./peer.mjs", import.meta.url));
const url = `nats://127.0.0.1:${port}`;
const peers = [
  launch(peerScript, ["bun", "bun", join(dir, "bun.db"), url], "bun"),
  launch(peerScript, ["node", "node", join(dir, "node.db"), url], "node"),
  launch(peerScript, ["wasm", "wasm", join(dir, "wasm.db"), url], "node"),
];
for (const p of peers) {
  const r = await p.next("ready");
  console.log(`${r.name.padEnd(5)} peer ${r.peerId} on ${r.runtime}, joined cluster "notes-example" at ${url}`);
}
await new Promise((r) => setTimeout(r, 1500));
console.log("restarting nats-server while everyone keeps writing...");
server.kill("SIGKILL");
await new Promise((r) => setTimeout(r, 700));
server = startServer();
await new Promise((r) => setTimeout(r, 1500));
const { same, dumps, ms } = await settle(peers);
console.log(`converged: ${same ? "yes" : "NO"} (${ms} ms after the writes stopped)`);
for (const d of dumps) console.log(`  ${d.name.padEnd(5)} ${d.count} notes; pinned notes last edited by ${d.pinned.join(", ")}`);
for (const p of peers) p.send({ cmd: "exit" });
await Promise.all(peers.map((p) => p.exited));
server.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });
process.exitCode = same ? 0 : 1;
