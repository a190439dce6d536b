/**
 * The demo's link status tells the truth, in headless Chromium: it comes from the transport's state
 * in the tab's worker (link.on("state") → a "connection" event to the page), not from a flag set
 * once at the first handshake.
 * - connected: the status panel says so and the peers table names the hub;
 * - hub gone: "reconnecting" within two heartbeats, the hub row leaves the table, writes pend;
 *   hub back: "connected" again and nothing pends;
 * - network cut without a FIN (a frozen TCP proxy): "reconnecting" once the link's 2 s silence
 *   limit passes;
 * - a wrong secret: "auth_failed", with the server's reason.
 */
import { createServer, connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./chromium";
import { startDemo, type Demo } from "../demo-server.mjs";

const dist = fileURLToPath(new URL("../.build/link-state", import.meta.url));
const HEARTBEAT_MS = 500; // the tabs' replica heartbeat (worker.ts) and the hub's here

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];

beforeAll(async () => {
  await build({ configFile: fileURLToPath(new URL("../vite.config.ts", import.meta.url)), logLevel: "warn", build: { outDir: dist } });
  demo = await startDemo({ dist, heartbeatMs: HEARTBEAT_MS });
  browser = await launchChromium();
  context = await browser.newContext();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

async function openTab(query = ""): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`${demo.url}${query}`);
  await page.waitForSelector("#status[data-peer-id]", { timeout: 20_000 });
  return page;
}
const statusOf = (page: Page) => page.$eval("#status", (el) => ({ ...(el as HTMLElement).dataset }) as Record<string, string>);
const linkText = (page: Page) => page.$eval('[data-testid="link"]', (el) => el.textContent ?? "");
/** Milliseconds until the status panel shows `state`, failing after `timeoutMs`. */
async function msUntilLink(page: Page, state: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await page.waitForSelector(`#status[data-link="${state}"]`, { timeout: timeoutMs });
  return Date.now() - started;
}

/** A loopback TCP proxy that can cut the network: from freeze() on, no bytes either way on any
 * connection, old or new, and no FIN. */
async function freezableProxy(targetPort: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  const frozen = new Set<Socket>();
  const open = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      open.add(from);
      if (cut) frozen.add(from);
      from.on("data", (d) => void (frozen.has(from) || to.write(d)));
      from.on("error", () => {});
      from.on("close", () => {
        if (!frozen.has(from)) to.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      cut = true;
      open.forEach((s) => frozen.add(s));
    },
    async close() {
      open.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("browser demo: the link status follows the transport", () => {
  it("names the hub; shows reconnecting within two heartbeats of the hub going, connected when it is back", async () => {
    const tab = await openTab();
    await msUntilLink(tab, "connected", 20_000);
    const hub = String(demo.replica.peerId);
    expect((await statusOf(tab)).hubPeerId).toBe(hub);
    expect(await linkText(tab)).toBe(`connected to hub ${hub}`);
    // The peers table marks the hub (it fills at the next status refresh).
    const hubRow = await tab.waitForSelector(`#peers tr[data-role="hub"][data-peer-id="${hub}"]`, { timeout: 5000 });
    expect(await hubRow.textContent()).toContain(`${hub} (hub)`);

    await demo.hub.close();
    const noticed = await msUntilLink(tab, "reconnecting", 2 * HEARTBEAT_MS);
    console.log(`hub closed: the page showed "reconnecting" after ${noticed} ms`);
    await tab.waitForSelector(`#peers tr[data-role="hub"]`, { state: "detached", timeout: 5000 });
    expect(await linkText(tab)).toMatch(/^reconnecting/);
    // A write while the hub is away is pending, and stays local.
    await tab.fill('[data-testid="new-title"]', "while the hub is away");
    await tab.press('[data-testid="new-title"]', "Enter");
    await tab.waitForFunction(() => Number((document.getElementById("status") as HTMLElement).dataset.pending) >= 1, undefined, { timeout: 5000 });
    expect((await statusOf(tab)).link).toBe("reconnecting"); // the status refresh did not paint it green

    await demo.reopenHub();
    const back = await msUntilLink(tab, "connected", 5000); // re-dials back off to at most 2 s
    console.log(`hub reopened: the page showed "connected" after ${back} ms`);
    await tab.waitForSelector(`#peers tr[data-role="hub"][data-peer-id="${hub}"]`, { timeout: 5000 });
    await tab.waitForFunction(() => (document.getElementById("status") as HTMLElement).dataset.pending === "0", undefined, { timeout: 10_000 });
    expect(demo.db.prepare("SELECT count(*) AS n FROM todos WHERE title = ?").get("while the hub is away")).toEqual({ n: 1 });
    await tab.close();
  });

  it("shows reconnecting when the network is cut without a FIN, once the link's silence limit passes", async () => {
    const proxy = await freezableProxy(demo.web.port);
    try {
      const tab = await openTab(`?hub=${encodeURIComponent(`ws://127.0.0.1:${proxy.port}/replic`)}`);
      await msUntilLink(tab, "connected", 20_000);
      proxy.freeze();
      // deadAfterMs is 2 s and the silence check runs every 500 ms ping: at most about 2.5 s.
      const noticed = await msUntilLink(tab, "reconnecting", 4000);
      console.log(`network cut: the page showed "reconnecting" after ${noticed} ms`);
      expect(noticed).toBeGreaterThanOrEqual(1500);
      await tab.close();
    } finally {
      await proxy.close();
    }
  });

  it("shows auth failed, with the hub's reason, for a tab with the wrong secret", async () => {
    const before = demo.hub.metrics();
    const tab = await openTab("?secret=not-the-demo-secret");
    await msUntilLink(tab, "auth_failed", 10_000);
    expect(await linkText(tab)).toMatch(/^auth failed: authentication failed: wrong secret/);
    expect((await statusOf(tab)).hubPeerId).toBe("");
    expect(await tab.$$("#peers tr")).toHaveLength(0);
    expect(demo.hub.metrics()).not.toBe(before);
    await tab.close();
    expect(pageErrors).toEqual([]);
  });
});
