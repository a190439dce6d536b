/**
 * The conformance suite's canonical history, played inside headless Chromium on the official
 * SQLite WASM build (in a worker; in memory and on OPFS files), must give tables byte-identical
 * to better-sqlite3's in Node,
 * equal to CANONICAL_DIGEST, with the very same bytes on the wire; and the browser's messages
 * must merge in Node into the same tables. And 30 seeded random histories (partial rows, NULLs,
 * deletes, transactions, skewed clocks, early and relayed delivery) give, on every replica in the
 * browser, the tables of the merge rule's model, byte-identical to better-sqlite3's.
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
import { runCanonical, type CanonicalBinding, type CanonicalResult } from "./conformance/canonical-run";
import { RANDOM_SEEDS, runRandom, type RandomRun } from "./conformance/random-run";
import { decodeMessage } from "@replic/adapter-node";
import { serveStatic } from "../static-server.mjs";

let browser: Browser;
let server: { url: string; close(): Promise<void> };
let inBrowser: CanonicalResult & {
  sqlite: string;
  error?: string;
  opfs: Pick<CanonicalResult, "targetDump" | "originDumps" | "wire"> & { files: string[] };
  random: RandomRun[];
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

function nodeBinding(dbs: Database.Database[]): CanonicalBinding<Database.Database> {
  return {
    open(options) {
      const db = new Database(":memory:");
      dbs.push(db);
      return { db, replica: openReplica(db, options) };
    },
    all: nodeAll,
  };
}

function inNode(): CanonicalResult {
  const dbs: Database.Database[] = [];
  const result = runCanonical<Database.Database>(nodeBinding(dbs));
  for (const db of dbs) db.close();
  return result;
}

describe("conformance in headless Chromium (sqlite-wasm, worker) vs better-sqlite3", () => {
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

  it("random histories (30 seeds): every replica in the browser equals the merge rule's model, and better-sqlite3's bytes", () => {
    expect(inBrowser.random.map((r) => r.seed)).toEqual(RANDOM_SEEDS);
    let rows = 0;
    for (const run of inBrowser.random) {
      expect(run.patches).toBeGreaterThan(40);
      expect(run.dump, `seed ${run.seed}: target`).toBe(run.model);
      run.originDumps.forEach((d, i) => expect(d, `seed ${run.seed}: origin ${i}`).toBe(run.model));
      const dbs: Database.Database[] = [];
      const node = runRandom(nodeBinding(dbs), decodeMessage, run.seed);
      for (const db of dbs) db.close();
      expect(run.dump, `seed ${run.seed}: browser vs better-sqlite3`).toBe(node.dump);
      expect(run.model).toBe(node.model);
      rows += run.dump.split("\n").length;
    }
    // Not vacuous: the histories leave rows of both tables, with NULLs and several storage classes.
    const text = inBrowser.random.map((r) => r.dump).join("\n");
    for (const needle of ["# docs", "# pairs", "null", "int:", "real:", "text:", "blob:"]) expect(text).toContain(needle);
    expect(rows).toBeGreaterThan(30 * 6);
  });
});
