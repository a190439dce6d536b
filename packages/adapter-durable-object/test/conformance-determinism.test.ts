// The shared conformance suite's determinism block (conformance/src/determinism.ts), the same
// definitions the Node, Bun and WASM bindings run, here with every database a Durable Object
// inside workerd (test/do-world.ts): the canonical history played on three origin objects gives
// the expected tables on them and on a target object fed the messages shuffled with duplicates;
// the wire bytes and tables are compared, through files in the temporary directory, with what the
// other bindings left there, and their messages merged here into the same tables.
import { describe } from "vitest";
import { determinismBlock } from "../../../conformance/src/determinism";
import { doWorld } from "./do-world";
import { workerdForFile } from "./workerd";

const workerd = workerdForFile("determinism");

describe("replic conformance: durable-object (workerd)", () => {
  determinismBlock(doWorld(() => workerd().url));
});
