// CI guard for bench/hubs.mjs at a tiny size, over WebSocket and over NATS, so the hub measurement
// cannot rot: a hub and four spokes in two processes link, idle, carry one write to every spoke, converge after every spoke
// writes, and link again after the hub is killed and restarted on the same database. No timing
// threshold: only that every figure was measured.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runToEnd } from "./run-to-end.js";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "replic-hubs-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench/hubs.mjs", () => {
  it.each([
    ["ws", "hubs-"],
    ["nats", "hubs-nats-"],
  ])("over %s: measures idle cost, one write, convergence and a hub restart with four spokes", async (transport, prefix) => {
    const dir = join(out, transport);
    mkdirSync(dir);
    const args = ["--spokes", "4", "--per-process", "2", "--idle-seconds", "1", "--converge-limit", "60", "--label", "test", "--out", dir, "--transport", transport];
    const r = await runToEnd(process.execPath, [join(bench, "hubs.mjs"), ...args], bench, 170_000);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files.every((f) => new RegExp(`^${prefix}\\d{4}-\\d\\d-\\d\\d-test\\.(json|md)$`).test(f)), files.join()).toBe(true);
    const doc = JSON.parse(readFileSync(join(dir, files.find((f) => f.endsWith(".json"))!), "utf8"));
    expect(doc.results).toHaveLength(1);
    const [x] = doc.results;
    expect(x.spokes).toBe(4);
    for (const k of ["linkSeconds", "idleCpuPercent", "idleBytesPerSecond", "heapPerLinkKB", "oneWriteSeconds", "convergeSeconds", "relinkSeconds", "relinkHubCpuSeconds"]) {
      expect(Number.isFinite(x[k]) && x[k] >= 0, `${k}: ${x[k]}`).toBe(true);
    }
    expect(x.oneWriteSeconds).toBeGreaterThan(0);
    expect(x.relinkSeconds).toBeGreaterThan(0);
  }, 180_000);
});
