// The shared conformance suite's hostile-neighbours block (conformance/src/hostile-neighbours.ts),
// the same definitions the Node, Bun and WASM bindings run, here with every database a Durable
// Object inside workerd (test/do-world.ts): forged own-origin patches and heads, two writers under
// one peer id, far-future and too-old patches, range requests and heartbeats over the budgets, a
// write over the message limit, heads deltas from neighbours that lie or never answer. The two
// careless-operator cases run in their one-storage form: a second replica opened on the same
// object's storage, and a patches table dropped there by migration and by hand (the file forms
// need a second connection to one file, which an object's storage never has).
import { afterAll, beforeAll, describe } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@replic/conformance/peer-process";
import { hostileNeighboursBlock } from "../../../conformance/src/hostile-neighbours";
import { doWorld } from "./do-world";
import { bundleWorker, Workerd } from "./workerd";

const dir = mkdtempSync(join(tmpdir(), "replic-do-neighbours-"));
let w: Workerd | undefined;

beforeAll(async () => {
  const script = await bundleWorker(join(dir, "build"));
  w = await Workerd.start({ script, persist: join(dir, "persist"), port: await freePort() });
}, 60_000);

afterAll(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("replic conformance: durable-object (workerd)", () => {
  hostileNeighboursBlock(doWorld(() => w!.url));
});
