/**
 * openBrowserDatabase outside a browser worker: bad options are refused with typed errors, and
 * without OPFS it falls back to memory and says why. OPFS itself (slots, locks, reloads) is
 * tested in headless Chromium: examples/browser/test.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ReplicError } from "@replic/core";
import { openBrowserDatabase } from "../src/browser-database";
import { holdWebLock, type LockManagerLike } from "../src/web-lock";
import { loadSqlite3, type Sqlite3 } from "./sqlite-wasm";

let sqlite3: Sqlite3;
beforeAll(async () => {
  sqlite3 = await loadSqlite3();
});

describe("openBrowserDatabase", () => {
  it("refuses bad options with INVALID_OPTION", async () => {
    for (const options of [{ name: "../etc" }, { name: "" }, { maxSlots: 0 }, { preferredSlot: 16 }, { preferredSlot: -1 }, { preferredSlot: 1.5 }]) {
      const err = await openBrowserDatabase(sqlite3, options).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(ReplicError);
      expect((err as ReplicError).code).toBe("INVALID_OPTION");
    }
  });

  it("falls back to an in-memory database where OPFS is missing, and says why", async () => {
    const opened = await openBrowserDatabase(sqlite3, { name: "app" });
    expect(opened.storage).toBe("memory");
    expect(opened.slot).toBe(null);
    expect(opened.fallbackReason).toMatch(/OPFS|FileSystemSyncAccessHandle|opfs-sahpool/);
    opened.db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    expect(opened.db.selectObjects("SELECT x FROM t")).toEqual([{ x: 1 }]);
    opened.close();
    const forced = await openBrowserDatabase(sqlite3, { storage: "memory" });
    expect(forced.storage).toBe("memory");
    expect(forced.fallbackReason).toBeUndefined();
    forced.close();
  });
});

describe("holdWebLock", () => {
  /** A minimal in-process lock manager with the Web Locks semantics the helper relies on. */
  function fakeLocks(): LockManagerLike {
    const held = new Map<string, Promise<unknown>>();
    return {
      async request(name, options, callback) {
        while (held.has(name)) {
          if (options.ifAvailable) return callback(null);
          if (options.signal?.aborted) throw options.signal.reason;
          await Promise.race([
            held.get(name),
            new Promise((_, reject) => options.signal?.addEventListener("abort", () => reject(options.signal!.reason))),
          ]);
        }
        const p = Promise.resolve(callback({ name }));
        held.set(name, p);
        try {
          return await p;
        } finally {
          held.delete(name);
        }
      },
    };
  }

  it("takes a free lock, reports a held one, waits a bounded time, and releases", async () => {
    const locks = fakeLocks();
    const release = await holdWebLock(locks, "slot-0", 0);
    expect(release).toBeTypeOf("function");
    expect(await holdWebLock(locks, "slot-0", 0)).toBe(null);
    const started = Date.now();
    expect(await holdWebLock(locks, "slot-0", 50)).toBe(null);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    const waiting = holdWebLock(locks, "slot-0", 5000);
    release!();
    expect(await waiting).toBeTypeOf("function");
  });
});

describe("browser bundle", () => {
  it("the built browser entry imports no Node module and no node-sqlite3-wasm", () => {
    const code = readFileSync(new URL("../dist/browser.js", import.meta.url), "utf8");
    expect(code).toContain("openBrowserDatabase");
    expect(code).not.toMatch(/from\s+["']node:|require\(["']node:|node-sqlite3-wasm|getBuiltinModule/);
    const size = JSON.parse(readFileSync(new URL("../build-report/bundle-size.json", import.meta.url), "utf8"));
    expect(size.gzipBytes).toBeGreaterThan(1000);
    expect(size.gzipBytes).toBeLessThan(size.minifiedBytes);
  });

  it("the docs quote the measured bundle size to within 10 %", () => {
    const size = JSON.parse(readFileSync(new URL("../build-report/bundle-size.json", import.meta.url), "utf8"));
    const kib = (bytes: number) => bytes / 1024;
    for (const doc of ["../../../README.md", "../../../docs/browser.md", "../README.md"]) {
      const text = readFileSync(new URL(doc, import.meta.url), "utf8").replace(/\s+/g, " ");
      const m = /about (\d+(?:\.\d+)?) KiB minified and gzipped \((\d+(?:\.\d+)?) KiB minified/.exec(text);
      expect(m, `${doc} states the browser bundle's size`).not.toBeNull();
      expect(Math.abs(Number(m![1]) - kib(size.gzipBytes)) / kib(size.gzipBytes), `${doc}: gzipped`).toBeLessThanOrEqual(0.1);
      expect(Math.abs(Number(m![2]) - kib(size.minifiedBytes)) / kib(size.minifiedBytes), `${doc}: minified`).toBeLessThanOrEqual(0.1);
    }
  });
});
