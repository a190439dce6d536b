// The shared conformance suite's single-database blocks (conformance/src: basic, golden vectors,
// patchesDdl, bad input, hostile input, migrations, rolling upgrades, watch), the same definitions
// the Node, Bun and WASM bindings run, here with every database a Durable Object inside workerd:
// each replica on its object's own SQLite storage (test/do-world.ts, test/fixtures/world-db.ts).
// REPLIC_PROPERTY_RUNS and REPLIC_HOSTILE_RUNS / REPLIC_HOSTILE_SEED apply as on the other bindings.
import { describe } from "vitest";
import { badInputBlock } from "../../../conformance/src/badinput";
import { basicBlock } from "../../../conformance/src/basic";
import { ddlBlock } from "../../../conformance/src/ddl";
import { goldenBlock } from "../../../conformance/src/golden";
import { hostileBlock } from "../../../conformance/src/hostile";
import { migrationsBlock } from "../../../conformance/src/migrations";
import { upgradesBlock } from "../../../conformance/src/upgrades";
import { watchBlock } from "../../../conformance/src/watch";
import { doWorld } from "./do-world";
import { workerdForFile } from "./workerd";

const workerd = workerdForFile("blocks");

describe("replic conformance: durable-object (workerd)", () => {
  const world = doWorld(() => workerd().url);
  basicBlock(world);
  goldenBlock(world);
  ddlBlock(world);
  badInputBlock(world);
  hostileBlock(world);
  migrationsBlock(world);
  upgradesBlock(world);
  watchBlock(world);
});
