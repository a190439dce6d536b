// The same three processes as the WebSocket test (Bun + adapter-bun, Node + adapter-node,
// Node + adapter-wasm, each with its own file), joined through a real nats-server, which is
// killed and restarted while all three write; the Node peer is SIGKILLed and restarted too.
// After writes stop, all three files hold identical rows and every write.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NatsServer } from "./nats-server.js";
import { PeerProcess, type PeerConfig } from "@replic/conformance/peer-process";

const PEER_SCRIPT = fileURLToPath(new URL("./fixtures/nats-peer.mjs", import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "replic-nats3-"));
const running: PeerProcess[] = [];
let nats: NatsServer | undefined;
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  await nats?.down();
  rmSync(dir, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function start(cfg: PeerConfig): PeerProcess {
  const p = new PeerProcess(PEER_SCRIPT, cfg);
  running.push(p);
  return p;
}

describe("three processes, three runtimes, over NATS", () => {
  it("converge to identical rows through a nats-server restart and a SIGKILLed peer", async () => {
    nats = await NatsServer.start();
    const base = { servers: nats.url, cluster: "three" };
    const cfgs: Record<string, PeerConfig> = {
      bun: { ...base, name: "bun", adapter: "bun", db: join(dir, "bun.db"), peerId: 501 },
      node: { ...base, name: "node", adapter: "node", db: join(dir, "node.db"), peerId: 502 },
      wasm: { ...base, name: "wasm", adapter: "wasm", db: join(dir, "wasm.db"), peerId: 503, writeEveryMs: 40 },
    };
    const peers: Record<string, PeerProcess> = { bun: start(cfgs.bun), node: start(cfgs.node), wasm: start(cfgs.wasm) };
    for (const p of Object.values(peers)) await p.next("ready");
    // Discovery through the cluster subject: the WASM peer links both others and gets Bun's rows.
    const joined = Date.now() + 15_000;
    let mid = await peers.wasm.dump();
    while (!(mid.links === 2 && ((mid.own as Record<string, number>).bun ?? 0) > 0) && Date.now() < joined) {
      await sleep(300);
      mid = await peers.wasm.dump();
    }
    expect(mid.links).toBe(2);
    expect((mid.own as Record<string, number>).bun).toBeGreaterThan(0);
    await sleep(1000);

    await nats.restart(700); // all three keep writing meanwhile
    await sleep(1000);
    await peers.node.kill();
    await sleep(300);
    peers.node = start(cfgs.node);
    await peers.node.next("ready");
    await sleep(1000);

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
      if ((same && complete) || Date.now() > end) break;
      await sleep(300);
    }
    expect(new Set(dumps.map((d) => d.hash)).size).toBe(1);
    expect(dumps[0].own).toEqual(written);
    expect(dumps[0].count).toBe(written.bun + written.node + written.wasm + 5);
    console.log(`three runtimes over NATS: writes ${JSON.stringify(written)}, ${dumps[0].count} rows identical in all three files`);
    for (const p of Object.values(peers)) await p.exit();
  }, 60_000);
});
