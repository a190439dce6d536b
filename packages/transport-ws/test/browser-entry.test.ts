// The browser entry ("@replic/transport-ws/browser" and the "browser" export condition): it
// bundles for the browser platform with no Node module and no `ws`, and its WebCrypto handshake
// interoperates with the Node server. Node 20 has WebCrypto but no global WebSocket, so the
// interop test lends the `ws` client (which has the browser's onopen/onmessage/binaryType API)
// as the global for its duration.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { WebSocket as WsWebSocket } from "ws";
import { connectWebSocket as connectFromBrowser } from "../src/browser.js";
import { serveWebSocket, type WebSocketServer } from "../src/index.js";
import { nodeAuth } from "../src/auth.js";
import { webCryptoAuth } from "../src/auth-webcrypto.js";
import { openPeer, quietLogger, until, metric, type TestPeer } from "./helpers.js";

/** The little of esbuild's API used here (esbuild comes with the bundler, untyped from here). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ metafile: { inputs: Record<string, unknown> }; outputFiles: Array<{ text: string }> }>;
}
const esbuild = createRequire(createRequire(import.meta.url).resolve("tsup"))("esbuild") as Esbuild;
const pkg = fileURLToPath(new URL("..", import.meta.url));

describe("browser bundle", () => {
  for (const [what, entry] of [
    ["src/browser.ts", "./src/browser.ts"],
    ['"@replic/transport-ws" under the browser condition', "@replic/transport-ws"],
  ] as const) {
    it(`${what} bundles for platform=browser without Node modules or ws`, async () => {
      const result = await esbuild.build({
        stdin: { contents: `export * from ${JSON.stringify(entry)};`, resolveDir: pkg, loader: "ts" },
        bundle: true,
        write: false,
        platform: "browser",
        format: "esm",
        metafile: true,
        logLevel: "silent",
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.filter((f) => /(^|\/)node_modules\/ws\/|^node:|(^|\/)(auth|client-socket|node-socket|node-server|bun-server)\.ts$/.test(f))).toEqual([]);
      expect(inputs.some((f) => /browser-socket|dist\/browser\.js/.test(f))).toBe(true);
      expect(result.outputFiles[0].text).toContain("connectWebSocket");
    });
  }
});

describe("WebCrypto handshake", () => {
  it("computes the same proofs as node:crypto and verifies them both ways", async () => {
    const nonce = nodeAuth.nonce();
    const viaNode = nodeAuth.proof("s3cret", nonce, 7, 9) as Uint8Array;
    const viaWeb = await webCryptoAuth.proof("s3cret", nonce, 7, 9);
    expect(Buffer.from(viaWeb).toString("hex")).toBe(Buffer.from(viaNode).toString("hex"));
    expect(await webCryptoAuth.verify("s3cret", nonce, 7, 9, viaNode)).toBe(true);
    expect(await webCryptoAuth.verify("s3cret", nonce, 9, 7, viaNode)).toBe(false); // other direction
    expect(await webCryptoAuth.verify("other", nonce, 7, 9, viaNode)).toBe(false);
    expect(nodeAuth.verify("s3cret", nonce, 7, 9, viaWeb)).toBe(true);
    expect(webCryptoAuth.nonce()).toHaveLength(nonce.length);
  });
});

describe("browser client against the Node server", () => {
  const g = globalThis as { WebSocket?: unknown };
  const had = g.WebSocket;
  const peers: TestPeer[] = [];
  let server: WebSocketServer | undefined;
  beforeAll(() => {
    g.WebSocket = WsWebSocket;
  });
  afterAll(async () => {
    await server?.close();
    for (const p of peers) p.close();
    g.WebSocket = had;
  });

  it("links with the shared secret and replicates both ways; a wrong secret gets nothing", async () => {
    const [hub, page, intruder] = [1, 2, 3].map((id) => openPeer(id));
    peers.push(hub, page, intruder);
    const logger = quietLogger();
    server = await serveWebSocket(hub.replica, { port: 0, host: "127.0.0.1", secret: "s3cret", logger });
    const url = `ws://127.0.0.1:${server.port}/replic`;

    const bad = connectFromBrowser(intruder.replica, url, { secret: "wrong", reconnectBaseMs: 5000, logger: quietLogger() });
    await until(() => metric(server!.metrics(), "auth_failures_total") >= 1, 10_000, "auth failure");
    await bad.close();

    const link = connectFromBrowser(page.replica, url, { secret: "s3cret", logger: quietLogger() });
    expect(await link.linked()).toBe(hub.replica.peerId);
    const t1 = page.replica.upsert("items", { id: "from-page", v: 1 });
    const t2 = hub.replica.upsert("items", { id: "from-hub", v: 2 });
    await hub.replica.waitFor(t1, 10_000);
    await page.replica.waitFor(t2, 10_000);
    expect(page.rows()).toBe(hub.rows());
    expect(intruder.count()).toBe(0);
    expect(metric(link.metrics(), "connected")).toBe(1);
    await link.close();
  });

  it("refuses upgrade headers, which a browser cannot send", () => {
    const p = openPeer(4);
    peers.push(p);
    const options = { headers: { authorization: "x" } } as unknown as Parameters<typeof connectFromBrowser>[2];
    expect(() => connectFromBrowser(p.replica, "ws://127.0.0.1:1/replic", options)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
  });
});
