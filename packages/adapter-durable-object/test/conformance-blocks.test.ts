// The shared conformance suite's single-database blocks (conformance/src: basic, golden vectors,
// patchesDdl, bad input, hostile input, migrations, rolling upgrades, watch), the same definitions
// the Node, Bun and WASM bindings run, here with every database a Durable Object inside workerd:
// each replica on its object's own SQLite storage (test/do-world.ts, test/fixtures/world-db.ts).
// REPLIC_PROPERTY_RUNS and REPLIC_HOSTILE_RUNS / REPLIC_HOSTILE_SEED apply as on the other bindings.
import { afterAll, beforeAll, describe } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@replic/conformance/peer-process";
import { badInputBlock } from "../../../conformance/src/badinput";
import { basicBlock } from "../../../conformance/src/basic";
import { ddlBlock } from "../../../conformance/src/ddl";
import { goldenBlock } from "../../../conformance/src/golden";
import { hostileBlock } from "../../../conformance/src/hostile";
import { migrationsBlock } from "../../../conformance/src/migrations";
import { upgradesBlock } from "../../../conformance/src/upgrades";
import { watchBlock } from "../../../conformance/src/watch";
import { doWorld } from "./do-world";
import { bundleWorker, Workerd } from "./workerd";

const dir = mkdtempSync(join(tmpdir(), "replic-do-blocks-"));
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
  const world = doWorld(() => w!.url);
  basicBlock(world);
  goldenBlock(world);
  ddlBlock(world);
  badInputBlock(world);
  hostileBlock(world);
  migrationsBlock(world);
  upgradesBlock(world);
  watchBlock(world);
});
