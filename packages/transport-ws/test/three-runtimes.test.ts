// Three OS processes, three runtimes: Bun + adapter-bun, Node + adapter-node, Node + adapter-wasm,
// each with its own database file, replicating over WebSocket while all write: first hub-and-spoke
// (Bun is the hub), then a mesh (Bun also dials Node: the global WebSocket client against ws).
// The Bun hub is SIGKILLed mid-stream and restarted, later the Node peer too. After writes stop all three databases hold identical rows, and every write each peer
// made (numbered 1..N per peer, N reported by the peer) is there.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PeerProcess, freePort, type PeerConfig } from "@replic/conformance/peer-process";

const PEER_SCRIPT = fileURLToPath(new URL("./fixtures/ws-peer.mjs", import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "replic-3rt-"));
const running: PeerProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(cfg: PeerConfig): PeerProcess {
  const p = new PeerProcess(PEER_SCRIPT, cfg);
  running.push(p);
  return p;
}

describe("three processes, three runtimes, over WebSocket", () => {
  it("hub-and-spoke then mesh, with SIGKILLs and restarts, converge to identical rows", async () => {
    const [pBun, pNode, pWasm] = [await freePort(), await freePort(), await freePort()];
    const url = (port: number) => `ws://127.0.0.1:${port}/replic`;
    const secret = "three-runtimes";
    const cfgs: Record<string, PeerConfig> = {
      bun: { name: "bun", adapter: "bun", db: join(dir, "bun.db"), peerId: 301, port: pBun, secret },
      node: { name: "node", adapter: "node", db: join(dir, "node.db"), peerId: 302, port: pNode, secret, connect: [url(pBun)] },
      wasm: { name: "wasm", adapter: "wasm", db: join(dir, "wasm.db"), peerId: 303, port: pWasm, secret, connect: [url(pBun)], writeEveryMs: 40 },
    };
    const peers: Record<string, PeerProcess> = { bun: start(cfgs.bun), node: start(cfgs.node), wasm: start(cfgs.wasm) };
    for (const p of Object.values(peers)) await p.next("ready");

    // Hub-and-spoke while all write: the spokes see each other's rows only through the Bun hub.
    const hubbed = Date.now() + 15_000;
    let nodeRowsOnWasm = 0;
    while (nodeRowsOnWasm === 0 && Date.now() < hubbed) {
      await sleep(300);
      nodeRowsOnWasm = ((await peers.wasm.dump()).own as Record<string, number>).node ?? 0;
    }
    expect(nodeRowsOnWasm).toBeGreaterThan(0);
    await sleep(1000);

    // SIGKILL the Bun hub (the real binary) mid-stream; the spokes keep writing; restart it.
    await peers.bun.kill();
    await sleep(700);
    peers.bun = start(cfgs.bun);
    const again = await peers.bun.next("ready");
    expect(again.written).toBeGreaterThan(0); // resumed from its file

    // Mesh: add the Node–WASM link (Bun already links both), and let Bun dial Node as well, so a
    // Bun client (global WebSocket) talks to a Node server (ws) over a second, duplicate link.
    await sleep(800);
    peers.node.send({ cmd: "connect", url: url(pWasm) });
    peers.bun.send({ cmd: "connect", url: url(pNode) });
    await sleep(800);

    // SIGKILL the Node peer in the mesh and restart it with both of its links.
    await peers.node.kill();
    await sleep(500);
    peers.node = start({ ...cfgs.node, connect: [url(pBun), url(pWasm)] });
    await peers.node.next("ready");
    await sleep(1000);

    // Stop writing everywhere; anti-entropy settles the rest.
    const written: Record<string, number> = {};
    for (const [name, p] of Object.entries(peers)) {
      p.send({ cmd: "stop" });
      written[name] = (await p.next("stopped")).written as number;
    }
    let dumps: Array<Record<string, unknown>> = [];
    const end = Date.now() + 25_000;
    for (;;) {
      dumps = await Promise.all(Object.values(peers).map((p) => p.dump()));
      const same = dumps.every((d) => d.hash === dumps[0].hash);
      const complete = Object.entries(written).every(([n, w]) => (dumps[0].own as Record<string, number>)[n] === w);
      // Every peer links both others again (Bun: two server-side links and its re-dialled client link to Node).
      const meshed = dumps.every((d) => (d.links as number) >= (d.name === "bun" ? 3 : 2));
      if ((same && complete && meshed) || Date.now() > end) break;
      await sleep(300);
    }
    expect(new Set(dumps.map((d) => d.hash)).size).toBe(1);
    expect(dumps[0].own).toEqual(written); // rows name-1..name-N for every peer: no write lost
    expect(dumps[0].count).toBe(written.bun + written.node + written.wasm + 5);
    for (const d of dumps) expect(d.links).toBeGreaterThanOrEqual(d.name === "bun" ? 3 : 2); // the mesh is back
    console.log(`three runtimes: writes ${JSON.stringify(written)}, ${dumps[0].count} rows identical in all three files`);
    for (const p of Object.values(peers)) await p.exit();
  }, 60_000);
});
