// The shared conformance suite's adoption block (conformance/src/adoption.ts), the same
// definitions the Node, Bun and WASM bindings run, here with every database a Durable Object
// inside workerd (test/do-world.ts): a populated music store loaded by the application (one
// `transactionSync`), adopted on one object and caught up by two empty ones; concurrent
// multi-table transactions on three objects over a lossy network, rows parked on the way and none
// left; every storage class in NUMERIC, DATETIME and untyped columns. The tables and dumps are
// compared, through files in the temporary directory, with what the other bindings left there.
import { describe } from "vitest";
import { adoptionBlock } from "../../../conformance/src/adoption";
import { doWorld } from "./do-world";
import { workerdForFile } from "./workerd";

const workerd = workerdForFile("adoption");

describe("replic conformance: durable-object (workerd)", () => {
  adoptionBlock(doWorld(() => workerd().url));
});
