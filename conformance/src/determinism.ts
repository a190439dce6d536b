/**
 * Cross-adapter determinism: the canonical history (canonical.ts) played on this binding's
 * origins gives the expected tables, on them and on a target fed the messages out of order; the
 * wire bytes and tables are left in the temporary directory and compared with every other
 * binding's for the same core build, whose messages must merge here into the same tables.
 *
 * Written against the asynchronous world (world.ts): the synchronous bindings run it through
 * `syncWorld`, the Durable Object binding with each database an object inside workerd.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CANONICAL_DIGEST,
  CANONICAL_MIGRATIONS,
  CANONICAL_PEERS,
  CANONICAL_T0,
  CANONICAL_TABLES,
  canonicalExpected,
  canonicalHistory,
} from "./canonical.js";
import type { ConformanceBinding } from "./types.js";
import {
  dumpDigest,
  FakeClock,
  hex,
  modelDump,
  patchesOf,
  patchKey,
  prng,
  sha256,
  shuffledWithDuplicates,
  SINK,
  type Patch,
} from "./util.js";
import { captureAsync, syncWorld, type World, type WorldDb, type WorldOpened } from "./world.js";

export interface CanonicalRun {
  /** Every message the origins sent, in send order, with the origin's peer id. */
  messages: { from: number; bytes: Uint8Array }[];
  /** Tokens the upserts returned, in script order. */
  tokens: string[];
}

/** Plays `canonicalHistory()` on fresh origins of the world's binding. */
export async function playCanonicalHistory(w: World): Promise<{ origins: WorldOpened[]; clock: FakeClock; run: CanonicalRun }> {
  const clock = new FakeClock(CANONICAL_T0);
  const origins: WorldOpened[] = [];
  for (const peerId of CANONICAL_PEERS) origins.push(await w.open(CANONICAL_MIGRATIONS, { peerId, now: clock.now }));
  const sent: Uint8Array[][] = [];
  for (const o of origins) sent.push(await captureAsync(o.r, SINK));
  const tokens: string[] = [];
  for (const step of canonicalHistory()) {
    clock.t = step.at;
    const r = origins[step.origin]!.r;
    if (step.tx) tokens.push(...(await r.transaction(step.writes)));
    else for (const x of step.writes) tokens.push(await r.upsert(x.table, x.row));
  }
  const messages: CanonicalRun["messages"] = [];
  sent.forEach((list, i) => list.forEach((bytes) => messages.push({ from: CANONICAL_PEERS[i]!, bytes })));
  return { origins, clock, run: { messages, tokens } };
}

async function dumpAll(db: WorldDb): Promise<string> {
  const dumps: string[] = [];
  for (const t of Object.keys(CANONICAL_TABLES)) dumps.push(await db.dumpTable(t));
  return dumps.join("\n");
}

/** Stamp of the core build, so files written by another adapter are compared only for the same core. */
export function coreStamp(): string {
  try {
    // node resolves the "require" entry (index.cjs), bun may pick the ESM one: hash the ESM build.
    const entry = createRequire(import.meta.url).resolve("@replic/core");
    return sha256(readFileSync(join(dirname(entry), "index.js")));
  } catch {
    return "unknown";
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

export function determinismSuite<Db>(b: ConformanceBinding<Db>): void {
  determinismBlock(syncWorld(b));
}

/** The determinism block on any world (syncWorld for the synchronous bindings). */
export function determinismBlock(w: World): void {
  afterEach(() => w.closeAll());

  describe("cross-adapter determinism (canonical history)", () => {
    it("the expected tables are fixed and non-trivial", () => {
      const expected = canonicalExpected();
      expect(dumpDigest(expected)).toBe(CANONICAL_DIGEST);
      // Cannot pass vacuously: rows of both tables, every storage class, deletes and restores.
      const needles = ["int:", "real:", "text:", "blob:00", "blob:\t", "null", "int:-9223372036854775808", "real:5e-324", "😀", "# pairs"];
      for (const needle of needles) {
        expect(expected.includes(needle), `expected dump contains ${needle}`).toBe(true);
      }
      expect(expected.split("\n").length).toBeGreaterThan(12);
      // doc-1 was deleted and later restored: its deletedAt is NULL again.
      const history = canonicalHistory();
      const doc1 = history.flatMap((s) => s.writes).filter((w) => w.table === "docs" && w.row.id === "doc-1" && "deletedAt" in w.row);
      expect(doc1.some((w) => w.row.deletedAt !== null)).toBe(true);
      expect(doc1[doc1.length - 1]!.row.deletedAt).toBe(null);
      expect(expected).toMatch(/^text:"doc-1"\t.*\tnull$/m);
      expect(history.filter((s) => s.tx).length).toBeGreaterThan(5);
    });

    it("this adapter's tables equal the expected digest, on origins and on a target fed messages out of order", async () => {
      const expected = canonicalExpected();
      const { origins, clock, run } = await playCanonicalHistory(w);
      expect(run.tokens.length).toBeGreaterThan(60);

      // The patches on the wire, fed to the model, give the same tables (merge order = script order).
      const patches = new Map<string, Patch>();
      for (const m of run.messages) for (const p of patchesOf(w.adapter.decodeMessage(m.bytes)).patches) patches.set(patchKey(p), p);
      expect(patches.size).toBe(run.tokens.length);
      const model = Object.entries(CANONICAL_TABLES)
        .map(([t, cols]) => modelDump(t, cols, patches.values()))
        .join("\n");
      expect(model).toBe(expected);

      clock.t = CANONICAL_T0 + 3_600_000;
      const rand = prng(99);
      const target = await w.open(CANONICAL_MIGRATIONS, { peerId: 1234, now: clock.now });
      for (const p of CANONICAL_PEERS) await target.r.addPeer(p, () => {});
      const order = shuffledWithDuplicates(rand, run.messages);
      for (const m of order) await target.r.receive(m.from, m.bytes);
      const dump = await dumpAll(target.db);
      expect(dump).toBe(expected);
      expect(dumpDigest(dump)).toBe(CANONICAL_DIGEST);

      for (const [i, o] of origins.entries()) {
        for (const m of shuffledWithDuplicates(rand, run.messages)) if (m.from !== CANONICAL_PEERS[i]) await o.r.receive(m.from, m.bytes);
        expect(await dumpAll(o.db), `origin ${CANONICAL_PEERS[i]}`).toBe(expected);
      }

      // Leave this adapter's result for the others, and check theirs (same core build only).
      const dir = join(tmpdir(), "replic-determinism");
      mkdirSync(dir, { recursive: true });
      const stamp = coreStamp();
      const wireDigest = sha256(run.messages.map((m) => `${m.from}:${hex(m.bytes)}`).join("\n"));
      const file = [
        `adapter ${w.name}`,
        `core ${stamp}`,
        `history ${CANONICAL_DIGEST}`,
        `digest ${dumpDigest(dump)}`,
        `wire ${wireDigest}`,
        ...run.messages.map((m) => `message ${m.from} ${base64(m.bytes)}`),
        `dump`,
        dump,
      ].join("\n");
      // Written under a temporary name and renamed, so a concurrent reader never sees half a file.
      const tmp = join(dir, `.${w.name}.${process.pid}.tmp`);
      writeFileSync(tmp, file);
      renameSync(tmp, join(dir, `${w.name}.txt`));

      const compared: string[] = [];
      for (const name of readdirSync(dir)) {
        if (!name.endsWith(".txt") || name === `${w.name}.txt`) continue;
        const other = readFileSync(join(dir, name), "utf8");
        const lines = other.split("\n");
        // Only files written for the same core build and the same canonical history are comparable.
        if (lines[1] !== `core ${stamp}` || lines[2] !== `history ${CANONICAL_DIGEST}` || stamp === "unknown") continue;
        // Same core build, same injected clocks and peer ids: the same bytes on the wire.
        expect(lines.find((l) => l.startsWith("wire ")), `wire bytes written by ${name} equal this adapter's`).toBe(
          `wire ${wireDigest}`,
        );
        const dumpAt = lines.indexOf("dump");
        expect(lines.slice(dumpAt + 1).join("\n"), `dump written by ${name} equals this adapter's`).toBe(dump);
        // Interop: the other runtime's wire bytes merge here into the same tables.
        const foreign = lines
          .filter((l) => l.startsWith("message "))
          .map((l) => {
            const [, from, data] = l.split(" ");
            return { from: Number(from), bytes: new Uint8Array(Buffer.from(data!, "base64")) };
          });
        expect(foreign.length).toBeGreaterThan(0);
        const t2 = await w.open(CANONICAL_MIGRATIONS, { peerId: 4321, now: clock.now });
        for (const p of CANONICAL_PEERS) await t2.r.addPeer(p, () => {});
        for (const m of shuffledWithDuplicates(rand, foreign)) await t2.r.receive(m.from, m.bytes);
        expect(await dumpAll(t2.db), `messages written by ${name}, merged on ${w.name}`).toBe(expected);
        compared.push(name.replace(/\.txt$/, ""));
      }
      // eslint-disable-next-line no-console
      console.log(`[conformance ${w.name}] canonical digest ${CANONICAL_DIGEST}; also checked against: ${compared.join(", ") || "(none yet)"}`);
    }, 60_000);
  });
}
