// The shared conformance suite's hostile-neighbours block (conformance/src/hostile-neighbours.ts),
// the same definitions the Node, Bun and WASM bindings run, here with every database a Durable
// Object inside workerd (test/do-world.ts): forged own-origin patches and heads, two writers under
// one peer id, far-future and too-old patches, range requests and heartbeats over the budgets, a
// write over the message limit, heads deltas from neighbours that lie or never answer. The two
// careless-operator cases run in their one-storage form: a second replica opened on the same
// object's storage, and a patches table dropped there by migration and by hand (the file forms
// need a second connection to one file, which an object's storage never has).
import { describe } from "vitest";
import { hostileNeighboursBlock } from "../../../conformance/src/hostile-neighbours";
import { doWorld } from "./do-world";
import { workerdForFile } from "./workerd";

const workerd = workerdForFile("neighbours");

describe("replic conformance: durable-object (workerd)", () => {
  hostileNeighboursBlock(doWorld(() => workerd().url));
});
