// A Deno 2 peer (node-sqlite3-wasm through @replic/adapter-wasm, opened with openDatabase)
// replicating with a Node peer (better-sqlite3) over WebSocket while both write. First Deno dials
// the Node server (Deno as client); then the Deno peer is SIGKILLed mid-writes, restarts on the
// same file (recovered by openDatabase under Deno) and the Node peer dials it (Deno as server).
// After writes stop both hold identical rows, with every write each peer made.
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PeerProcess, freePort, type PeerConfig } from "@replic/conformance/peer-process";
import { denoLauncher } from "@replic/conformance/deno-launcher";

const PEER_SCRIPT = fileURLToPath(new URL("./fixtures/ws-peer.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "replic-deno-"));
const running: PeerProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const launcher = denoLauncher(import.meta.url, dir, { net: true });

function start(cfg: PeerConfig, deno: boolean): PeerProcess {
  const p = new PeerProcess(PEER_SCRIPT, cfg, deno ? launcher : undefined);
  running.push(p);
  return p;
}

/** Polls until `ok(dump)` holds on `p`, or fails after `ms`. */
async function until(p: PeerProcess, ok: (d: Record<string, unknown>) => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const d = await p.dump();
    if (ok(d)) return;
    if (Date.now() > end) throw new Error(`${what}: last dump ${JSON.stringify(d)}; stderr:\n${p.stderr}`);
    await sleep(200);
  }
}
const own = (d: Record<string, unknown>, name: string) => ((d.own as Record<string, number>)[name] ?? 0);

describe("Deno 2 and Node over WebSocket", () => {
  it("a Deno client, then (after a SIGKILL and restart) a Deno server, converge with a Node peer", async () => {
    const [nodePort, denoPort] = [await freePort(), await freePort()];
    const url = (port: number) => `ws://127.0.0.1:${port}/replic`;
    const secret = "deno-and-node";
    const cfgNode: PeerConfig = { name: "node", adapter: "node", db: join(dir, "node.db"), peerId: 601, port: nodePort, secret };
    const cfgDeno: PeerConfig = { name: "deno", adapter: "wasm", db: join(dir, "deno.db"), peerId: 602, port: denoPort, secret, writeEveryMs: 40 };
    const node = start(cfgNode, false);
    let deno = start({ ...cfgDeno, connect: [url(nodePort)] }, true);
    await node.next("ready");
    await deno.next("ready", 20_000);

    // Deno as client: rows cross both ways while both write.
    await until(node, (d) => own(d, "deno") > 0, 15_000, "Deno rows on Node");
    await until(deno, (d) => own(d, "node") > 0, 15_000, "Node rows on Deno");

    // SIGKILL Deno mid-writes; it restarts on the same file, serving, and Node dials it.
    await deno.kill();
    // Its owner record stays behind, with the flock the kernel dropped at the kill.
    expect(existsSync(`${cfgDeno.db}.replic-owner`)).toBe(true);
    deno = start(cfgDeno, true);
    const again = await deno.next("ready", 20_000);
    expect(again.written, "the restarted Deno peer resumed from its file").toBeGreaterThan(0);
    node.send({ cmd: "connect", url: url(denoPort) });
    const before = own(await node.dump(), "deno");
    await until(node, (d) => own(d, "deno") > before + 3, 15_000, "Deno rows after the restart, on Node");

    // Stop writing; anti-entropy settles the rest.
    const written: Record<string, number> = {};
    for (const [name, p] of [["node", node], ["deno", deno]] as const) {
      p.send({ cmd: "stop" });
      written[name] = (await p.next("stopped")).written as number;
    }
    let a: Record<string, unknown> = {};
    let b: Record<string, unknown> = {};
    const end = Date.now() + 15_000;
    do {
      await sleep(300);
      [a, b] = [await node.dump(), await deno.dump()];
    } while ((a.hash !== b.hash || own(a, "deno") !== written.deno || own(b, "node") !== written.node) && Date.now() < end);
    expect(own(a, "node")).toBe(written.node);
    expect(own(a, "deno")).toBe(written.deno);
    expect(own(b, "node")).toBe(written.node);
    expect(own(b, "deno")).toBe(written.deno);
    expect(b.hash, "Deno and Node hold identical rows").toBe(a.hash);
    await Promise.all([node.exit(), deno.exit()]);
  }, 60_000);
});
