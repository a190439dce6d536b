// The tests Stryker runs against each mutant: the fast unit tests of the mutated files (the wire
// vectors, the codec and clock tests, and one test file per mutated room under test/rooms/), with
// the fuzzer sized down (the full size runs in `npm test` and test:nightly). The slower protocol,
// batching and simulation tests are left out: they take minutes per mutant.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // group-lookup: a patch's group in the decoder and the mapping.
    include: ["test/clock.test.ts", "test/codec.test.ts", "test/codec-edges.test.ts", "test/golden.test.ts", "test/group-lookup.test.ts", "test/rooms/*.test.ts"],
    env: { REPLIC_FUZZ_RUNS: "2000" },
    // The initial run must pass on a loaded machine too (the fuzzers take seconds there).
    testTimeout: 60_000,
  },
});
