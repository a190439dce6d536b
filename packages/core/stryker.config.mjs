// Mutation testing of the core (`npm run test:mutation` in packages/core; StrykerJS 8.7 runs on
// Node 20). Mutates the files that decide correctness and runs the fast tests that cover them
// (vitest.mutation.config.ts); the report goes to docs/mutation/.
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: (process.env.REPLIC_MUTATE ?? "src/clock.ts,src/wire/bytes.ts,src/wire/encoder.ts,src/wire/decoder.ts").split(","),
  coverageAnalysis: "perTest",
  concurrency: Number(process.env.REPLIC_MUTATION_CONCURRENCY ?? 2),
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "../../docs/mutation/index.html" },
  jsonReporter: { fileName: "../../docs/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  thresholds: { high: 90, low: 85, break: null },
};
