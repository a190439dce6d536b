/**
 * The demo end to end, in headless Chromium: two tabs of one origin (each its own replica in a
 * worker, on its own OPFS file) and a Node hub (better-sqlite3) over @replic/transport-ws.
 * - each tab owns an OPFS slot under a Web Lock: distinct files, distinct peer ids;
 * - an edit in tab A appears in tab B and in the hub's database;
 * - tab B goes offline; both edit the same row and different rows; B comes back; all three
 *   converge to the merge rule's result (checked against the hub's patches);
 * - a tab opened after one closed takes over its OPFS slot (file, data, peer id); a duplicated
 *   tab asking for a slot still held gets a free one;
 * - with the hub gone, a reload of B shows the same data from OPFS, under the same peer id;
 * - a screenshot of the demo is saved to docs/browser-demo.png.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./chromium";
import { startDemo, type Demo } from "../demo-server.mjs";

const dist = fileURLToPath(new URL("../.build/demo", import.meta.url));
const screenshot = fileURLToPath(new URL("../../../docs/browser-demo.png", import.meta.url));

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
let a: Page;
let b: Page;
const pageErrors: string[] = [];

interface TodoRow {
  id: string;
  title: string;
  done: number;
  deletedAt: number | null;
}
const SELECT = "SELECT id, title, done, deletedAt FROM todos ORDER BY id";

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openTab(): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(demo.url);
  await page.waitForSelector('#status[data-link="connected"]', { timeout: 20_000 });
  return page;
}

function rowsOf(page: Page): Promise<TodoRow[]> {
  return page.evaluate(
    (sql) => (window as unknown as { replic: { client: { query(s: string): Promise<TodoRow[]> } } }).replic.client.query(sql),
    SELECT,
  );
}
const hubRows = () => demo.db.prepare(SELECT).all() as TodoRow[];
const statusOf = (page: Page) =>
  page.$eval("#status", (el) => ({ ...(el as HTMLElement).dataset }) as Record<string, string>);

async function addTodo(page: Page, title: string): Promise<void> {
  await page.fill('[data-testid="new-title"]', title);
  await page.press('[data-testid="new-title"]', "Enter");
  await page.waitForSelector(`li[data-title="${title}"]`);
}
const idOf = (page: Page, title: string) => page.$eval(`li[data-title="${title}"]`, (el) => (el as HTMLElement).dataset.id!);

async function rename(page: Page, id: string, title: string): Promise<void> {
  const input = page.locator(`li[data-id="${id}"] input.title`);
  await input.fill(title);
  await input.press("Tab"); // change event → upsert
  await page.waitForSelector(`li[data-id="${id}"][data-title="${title}"]`);
}

async function setOffline(page: Page, offline: boolean): Promise<void> {
  await page.locator("#offline").setChecked(offline);
  await page.waitForSelector(`#status[data-link="${offline ? "offline" : "connected"}"]`, { timeout: 20_000 });
}

/** The merge rule on the hub's own patches: per row and column, the highest patch that set it. */
function modelFromHubPatches(): TodoRow[] {
  const patches = demo.db
    .prepare(`SELECT id, title, done, deletedAt, _nulls FROM todos_patches ORDER BY _patchedAt, _peerId, _sequenceId`)
    .all() as (TodoRow & { _nulls: string | null })[];
  // The demo writes no explicit NULL here, so a NULL in a patch means "not set by this patch".
  expect(patches.every((p) => p._nulls === null)).toBe(true);
  const rows = new Map<string, TodoRow>();
  for (const p of patches) {
    const row = rows.get(p.id) ?? { id: p.id, title: "", done: 0, deletedAt: null };
    if (p.title !== null) row.title = p.title;
    if (p.done !== null) row.done = p.done;
    if (p.deletedAt !== null) row.deletedAt = p.deletedAt;
    rows.set(p.id, row);
  }
  return [...rows.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

beforeAll(async () => {
  await build({ configFile: fileURLToPath(new URL("../vite.config.ts", import.meta.url)), logLevel: "warn", build: { outDir: dist } });
  demo = await startDemo({ dist, heartbeatMs: 200 });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1040, height: 640 } });
  a = await openTab();
  b = await openTab();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

describe("browser demo: two tabs and a Node hub", () => {
  it("gives each tab its own OPFS slot and peer id", async () => {
    const sa = await statusOf(a);
    const sb = await statusOf(b);
    expect(sa.storage).toBe("opfs-sahpool");
    expect(sb.storage).toBe("opfs-sahpool");
    expect(new Set([sa.slot, sb.slot])).toEqual(new Set(["0", "1"]));
    expect(sa.peerId).not.toBe(sb.peerId);
    expect(sa.peerId).not.toBe(String(demo.replica.peerId));
  });

  it("shows an edit of tab A in tab B and in the hub's database", async () => {
    await addTodo(a, "buy milk");
    const id = await idOf(a, "buy milk");
    await b.waitForSelector(`li[data-id="${id}"][data-title="buy milk"]`, { timeout: 20_000 });
    await waitUntil("the hub has it", () => hubRows().some((r) => r.id === id && r.title === "buy milk"));
    await a.locator(`li[data-id="${id}"] input.done`).check();
    await b.waitForSelector(`li[data-id="${id}"].done`, { timeout: 20_000 });
    await waitUntil("the hub has it done", () => hubRows().some((r) => r.id === id && r.done === 1));
  });

  it("links both tabs to the hub through the shared secret (HMAC on WebCrypto in the page's worker)", () => {
    const series = (name: string) =>
      demo.hub
        .metrics()
        .split("\n")
        .filter((l) => l.startsWith(`replic_ws_${name}{`))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    expect(series("connected")).toBe(2); // the hub only links after checking each tab's proof
    expect(series("auth_failures_total")).toBe(0);
  });

  it("converges after tab B edited offline: same row, different rows, a soft delete", async () => {
    await addTodo(a, "shared");
    await addTodo(a, "b deletes this");
    const shared = await idOf(a, "shared");
    const doomed = await idOf(a, "b deletes this");
    await b.waitForSelector(`li[data-id="${doomed}"]`, { timeout: 20_000 });

    await setOffline(b, true);
    await rename(a, shared, "title from A");
    await a.locator(`li[data-id="${shared}"] input.done`).check(); // a column B does not touch
    await addTodo(a, "made by A meanwhile");
    await new Promise((r) => setTimeout(r, 30)); // B's edit of the same column is later: it wins
    await rename(b, shared, "title from B");
    await b.locator(`li[data-id="${doomed}"] button.delete`).click();
    await b.waitForSelector(`#todos li[data-id="${doomed}"]`, { state: "detached" });
    await addTodo(b, "made offline in B");

    // Really offline: nothing crossed in either direction.
    await new Promise((r) => setTimeout(r, 600));
    expect((await rowsOf(b)).some((r) => r.title === "made by A meanwhile")).toBe(false);
    expect(hubRows().some((r) => r.title === "made offline in B")).toBe(false);
    expect(Number((await statusOf(b)).pending)).toBeGreaterThanOrEqual(3);

    await setOffline(b, false);
    await waitUntil("A, B and the hub hold the same rows", async () => {
      const [ra, rb, rh] = [await rowsOf(a), await rowsOf(b), hubRows()];
      return rh.length === 5 && JSON.stringify(ra) === JSON.stringify(rh) && JSON.stringify(rb) === JSON.stringify(rh);
    });
    const rows = hubRows();
    expect(rows).toEqual(modelFromHubPatches());
    const byTitle = new Map(rows.map((r) => [r.title, r]));
    expect(byTitle.get("title from B")).toMatchObject({ id: shared, done: 1, deletedAt: null });
    expect(byTitle.has("title from A")).toBe(false);
    expect(byTitle.get("b deletes this")!.deletedAt).toBeGreaterThan(0);
    expect(byTitle.has("made by A meanwhile")).toBe(true);
    expect(byTitle.has("made offline in B")).toBe(true);
    // What each tab shows (watch-driven) follows: the deleted row is in the trash, not in the list.
    await a.waitForSelector(`li[data-id="${shared}"][data-title="title from B"]`, { timeout: 20_000 });
    await a.waitForSelector(`#deleted li[data-id="${doomed}"]`, { state: "attached" });
    await waitUntil("B has nothing pending", async () => (await statusOf(b)).pending === "0");

    mkdirSync(fileURLToPath(new URL("../../../docs", import.meta.url)), { recursive: true });
    await a.locator("#trash summary").click();
    await a.waitForTimeout(1100); // one status refresh, so the panel shows the link and peers
    await a.screenshot({ path: screenshot, fullPage: true });
  });

  it("lets a new tab take over the slot of a closed tab, with its data and peer id", async () => {
    const rowsA = await rowsOf(a);
    const { peerId, slot } = await statusOf(a);
    await a.close();
    // The browser releases the closed tab's Web Lock when its worker is gone.
    await waitUntil("the closed tab's slot lock is free", () =>
      b.evaluate(async (name) => {
        const held = (await navigator.locks.query()).held ?? [];
        return !held.some((l) => l.name === name);
      }, `replic:replic-todos:${slot}`),
    );
    a = await openTab();
    const s = await statusOf(a);
    expect(s.slot).toBe(slot);
    expect(s.peerId).toBe(peerId);
    expect(await rowsOf(a)).toEqual(rowsA);
  });

  it("gives a duplicated tab (same sessionStorage slot, still held) a free slot of its own", async () => {
    const { slot } = await statusOf(a);
    const dup = await context.newPage();
    dup.on("pageerror", (e) => pageErrors.push(e.message));
    // A duplicated tab inherits sessionStorage, so it asks for a slot that a live tab holds.
    await dup.addInitScript((s) => sessionStorage.setItem("replic-todos-slot", s), slot);
    await dup.goto(demo.url);
    await dup.waitForSelector('#status[data-link="connected"]', { timeout: 20_000 }); // after the 3 s wait for the held slot
    const s = await statusOf(dup);
    const taken = new Set([slot, (await statusOf(b)).slot]);
    expect(s.storage).toBe("opfs-sahpool");
    expect(taken.has(s.slot)).toBe(false);
    expect(s.peerId).not.toBe((await statusOf(a)).peerId);
    await dup.waitForSelector('li[data-title="made offline in B"]', { timeout: 20_000 }); // it syncs like any peer
    await dup.close();
  });

  it("keeps the data across a reload, from OPFS, with the hub gone", async () => {
    const before = await rowsOf(b);
    const { peerId, slot } = await statusOf(b);
    await demo.hub.close(); // nothing can come back from the hub now
    await b.reload();
    await b.waitForSelector("#status[data-peer-id]", { timeout: 20_000 });
    const after = await statusOf(b);
    expect(after.storage).toBe("opfs-sahpool");
    expect(after.slot).toBe(slot); // the same file, asked for again from sessionStorage
    expect(after.peerId).toBe(peerId);
    expect(after.link).not.toBe("connected");
    expect(await rowsOf(b)).toEqual(before);
    expect(before.length).toBe(5);
    expect(pageErrors).toEqual([]);
  });
});
