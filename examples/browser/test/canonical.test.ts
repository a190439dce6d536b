/**
 * The conformance suite's canonical history, played inside headless Chromium on the official
 * SQLite WASM build (in a worker; in memory and on OPFS files), must give tables byte-identical
 * to better-sqlite3's in Node,
 * equal to CANONICAL_DIGEST, with the very same bytes on the wire; and the browser's messages
 * must merge in Node into the same tables.
 */
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openReplica } from "@replic/adapter-node";
import type { Browser } from "playwright-core";
import { CANONICAL_DIGEST, CANONICAL_MIGRATIONS, CANONICAL_PEERS, canonicalExpected, dumpDigest, dumpTable } from "@replic/conformance";
import type { ConformanceBinding } from "@replic/conformance";
import { launchChromium } from "./chromium";
import { viteBuild } from "./vite-build";
import { runCanonical, type CanonicalResult } from "./conformance/canonical-run";
import { serveStatic } from "../static-server.mjs";

let browser: Browser;
let server: { url: string; close(): Promise<void> };
let inBrowser: CanonicalResult & {
  sqlite: string;
  error?: string;
  opfs: Pick<CanonicalResult, "targetDump" | "originDumps" | "wire"> & { files: string[] };
};

beforeAll(async () => {
  await viteBuild(fileURLToPath(new URL("./conformance/vite.config.ts", import.meta.url)));
  server = await serveStatic(fileURLToPath(new URL("../.build/conformance", import.meta.url)));
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForFunction(() => (window as unknown as { canonicalResult?: unknown }).canonicalResult !== undefined, null, { timeout: 60_000 });
  inBrowser = await page.evaluate(() => (window as unknown as { canonicalResult: never }).canonicalResult);
  expect(errors).toEqual([]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const nodeAll = (db: Database.Database, sql: string) => db.prepare(sql).all() as Record<string, unknown>[];

function inNode(): CanonicalResult {
  const dbs: Database.Database[] = [];
  const result = runCanonical<Database.Database>({
    open(options) {
      const db = new Database(":memory:");
      dbs.push(db);
      return { db, replica: openReplica(db, options) };
    },
    all: nodeAll,
  });
  for (const db of dbs) db.close();
  return result;
}

describe("canonical history in headless Chromium (sqlite-wasm, worker) vs better-sqlite3", () => {
  it("ran on a current official build", () => {
    expect(inBrowser.error).toBeUndefined();
    const [major, minor] = inBrowser.sqlite.split(".").map(Number);
    expect(major).toBe(3);
    expect(minor).toBeGreaterThanOrEqual(50);
    expect(inBrowser.tokens.length).toBeGreaterThan(60);
  });

  it("dumps byte-identical tables, equal to the pinned digest", () => {
    const node = inNode();
    expect(dumpDigest(node.targetDump)).toBe(CANONICAL_DIGEST);
    expect(inBrowser.targetDump).toBe(node.targetDump);
    expect(inBrowser.targetDump).toBe(canonicalExpected());
    expect(dumpDigest(inBrowser.targetDump)).toBe(CANONICAL_DIGEST);
    for (const dump of inBrowser.originDumps) expect(dump).toBe(node.targetDump);
    expect(inBrowser.tokens).toEqual(node.tokens);
  });

  it("gives the same tables and bytes on OPFS files (opfs-sahpool) as in memory", () => {
    const node = inNode();
    expect(inBrowser.opfs.files.filter((f) => f.startsWith("/canonical-")).length).toBe(4);
    expect(inBrowser.opfs.targetDump).toBe(node.targetDump);
    for (const dump of inBrowser.opfs.originDumps) expect(dump).toBe(node.targetDump);
    expect(inBrowser.opfs.wire).toEqual(node.wire);
  });

  it("sends the very same bytes on the wire, which merge in Node into the same tables", () => {
    const node = inNode();
    expect(inBrowser.wire).toEqual(node.wire);
    const db = new Database(":memory:");
    const target = openReplica(db, { peerId: 4321, heartbeatMs: 0, now: () => 1_717_171_717_000 + 7_200_000 });
    target.migrate(CANONICAL_MIGRATIONS);
    for (const p of CANONICAL_PEERS) target.addPeer(p, () => {});
    for (const line of [...inBrowser.wire].reverse()) {
      const [from, hex] = line.split(":");
      target.receive(Number(from), new Uint8Array(Buffer.from(hex!, "hex")));
    }
    const binding = { all: nodeAll } as unknown as ConformanceBinding<Database.Database>;
    const dump = ["docs", "pairs"].map((t) => dumpTable(binding, db, t)).join("\n");
    expect(dump).toBe(canonicalExpected());
    target.close();
    db.close();
  });
});
