// Fixtures for scripts/total.mjs: each failing shape a runner can leave behind must count.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { addCheck, summaryLine, tally, tallyPackage, unhandledErrorFiles } from "../total.mjs";

const base = mkdtempSync(join(tmpdir(), "replic-total-"));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

/** A fake package directory whose test-results/ holds `files` (name → content). */
function pkg(files) {
  const dir = join(base, `p${n++}`);
  mkdirSync(join(dir, "test-results"), { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, "test-results", f), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}

const vitest = (over) => ({
  numTotalTestSuites: 1,
  numPassedTestSuites: 1,
  numFailedTestSuites: 0,
  numPassedTests: 3,
  numFailedTests: 0,
  numPendingTests: 1,
  numTodoTests: 0,
  success: true,
  testResults: [{ name: "/x/a.test.ts", status: "passed", message: "", assertionResults: [{ title: "t", status: "passed" }] }],
  ...over,
});

test("a clean vitest run counts its tests", () => {
  const t = tallyPackage({ name: "ok", dir: pkg({ "vitest.json": vitest({}) }), exitCode: 0 });
  assert.deepEqual([t.passed, t.failed, t.skipped, t.problems], [3, 0, 1, []]);
});

test("a vitest file that fails to load counts as failed, naming it", () => {
  const r = vitest({
    numFailedTestSuites: 1,
    success: false,
    testResults: [
      { name: "/x/a.test.ts", status: "passed", message: "", assertionResults: [{ title: "t", status: "passed" }] },
      { name: "/x/load.test.ts", status: "failed", message: "Cannot find module './nope'", assertionResults: [] },
    ],
  });
  const t = tallyPackage({ name: "core", dir: pkg({ "vitest.json": r }), exitCode: 1 });
  assert.equal(t.failed, 1);
  assert.match(t.problems[0], /^core: \/x\/load\.test\.ts failed outside its tests: Cannot find module/);
});

test("a failing afterAll (file failed, all its tests passed) counts as failed", () => {
  const r = vitest({
    numFailedTestSuites: 1,
    success: false,
    testResults: [{ name: "/x/hook.test.ts", status: "failed", message: "", assertionResults: [{ title: "t", status: "passed" }] }],
  });
  const t = tallyPackage({ name: "core", dir: pkg({ "vitest.json": r }), exitCode: 1 });
  assert.equal(t.failed, 1);
  assert.equal(t.passed, 3);
  assert.match(t.problems[0], /hook\.test\.ts failed outside its tests/);
});

test("vitest success:false with no failed test or file (an unhandled error) counts as failed", () => {
  const t = tallyPackage({ name: "core", dir: pkg({ "vitest.json": vitest({ success: false, numFailedTestSuites: 0 }) }), exitCode: 1 });
  assert.equal(t.failed, 1);
  assert.match(t.problems[0], /without a failed test/);
});

test("failed tests in a failed file are counted once each, not once more for the file", () => {
  const r = vitest({
    numFailedTests: 2,
    success: false,
    testResults: [{ name: "/x/f.test.ts", status: "failed", message: "", assertionResults: [{ status: "failed" }, { status: "failed" }] }],
  });
  assert.equal(tallyPackage({ name: "core", dir: pkg({ "vitest.json": r }), exitCode: 1 }).failed, 2);
});

const junit = `<?xml version="1.0"?><testsuites><testsuite name="t">
<testcase name="a" /><testcase name="b"><failure message="x">boom</failure></testcase>
<testcase name="c"><skipped /></testcase></testsuite></testsuites>`;

const bunLog = `bun test v1.4.5 (a7733435c)

test/broken.test.ts:

# Unhandled error between tests
-------------------------------
error: Cannot find module './nope' from 'test/broken.test.ts'
-------------------------------


test/fine.test.ts:
(pass) a
 1 pass
 1 fail
 1 error
`;

test("bun: a file that fails to load (missing from the JUnit report) counts, named from bun's output", () => {
  assert.deepEqual(unhandledErrorFiles(bunLog), ["test/broken.test.ts"]);
  const t = tallyPackage({ name: "adapter-bun", dir: pkg({ "bun.xml": junit }), exitCode: 1, log: bunLog });
  assert.deepEqual([t.passed, t.failed, t.skipped], [1, 2, 1]);
  assert.match(t.problems[0], /^adapter-bun: test\/broken\.test\.ts failed outside its tests/);
});

test("the bun output rule only applies to bun's output", () => {
  const log = "RUN v3.2.7\nsome.test.ts:\n# Unhandled error between tests\n";
  assert.equal(tallyPackage({ name: "x", dir: pkg({ "vitest.json": vitest({}) }), exitCode: 0, log }).failed, 0);
});

test("a runner that crashes before writing results counts as failed and is named", () => {
  const dir = join(base, "crashed");
  mkdirSync(dir);
  const t = tallyPackage({ name: "packages/adapter-wasm", dir, exitCode: 134 });
  assert.equal(t.failed, 1);
  assert.equal(t.problems[0], "packages/adapter-wasm: the runner exited with code 134 before writing test results");
  assert.match(tallyPackage({ name: "k", dir, exitCode: null }).problems[0], /was killed/);
});

test("a runner that exits 0 without results still counts as failed", () => {
  const dir = join(base, "empty");
  mkdirSync(dir);
  assert.equal(tallyPackage({ name: "e", dir, exitCode: 0 }).failed, 1);
});

test("a non-zero exit with results that show no failure counts as failed", () => {
  const t = tallyPackage({ name: "x", dir: pkg({ "vitest.json": vitest({}) }), exitCode: 1 });
  assert.equal(t.failed, 1);
  assert.match(t.problems[0], /exited with code 1 but its results show no failure/);
});

test("an unreadable result file counts as failed", () => {
  const t = tallyPackage({ name: "x", dir: pkg({ "vitest.json": "{ truncated" }), exitCode: 1 });
  assert.equal(t.failed, 1);
  assert.match(t.problems[0], /unreadable result file vitest\.json/);
});

test("tally sums packages and the summary line never reads 0 failed when one did", () => {
  const crashed = join(base, "crashed2");
  mkdirSync(crashed);
  const total = tally([
    { name: "a", dir: pkg({ "vitest.json": vitest({}) }), exitCode: 0 },
    { name: "b", dir: crashed, exitCode: 1 },
  ]);
  assert.equal(summaryLine(total), "replic: 3 passed, 1 failed, 1 skipped");
});

test("a failed check (the mutation check) counts as one failed, named; a passing one adds nothing", () => {
  const total = tally([{ name: "a", dir: pkg({ "vitest.json": vitest({}) }), exitCode: 0 }]);
  addCheck(total, { name: "packages/core mutation check", exitCode: 0 });
  assert.equal(summaryLine(total), "replic: 3 passed, 0 failed, 1 skipped");
  addCheck(total, { name: "packages/core mutation check", exitCode: 1 });
  assert.equal(summaryLine(total), "replic: 3 passed, 1 failed, 1 skipped");
  assert.deepEqual(total.problems, ["packages/core mutation check: exited with code 1 (see its output above)"]);
  addCheck(total, { name: "m", exitCode: null });
  assert.equal(total.failed, 2);
  assert.match(total.problems[1], /^m: was killed/);
});

test("each failed test is named with its file and first error line, from vitest and from JUnit", () => {
  const r = vitest({
    numFailedTests: 1,
    success: false,
    testResults: [
      {
        name: "/x/f.test.ts",
        status: "failed",
        message: "",
        assertionResults: [
          { status: "passed", fullName: "ok" },
          { status: "failed", fullName: "links relink", failureMessages: ["\nAssertionError: expected 1 to be 2\n    at f.test.ts:3"] },
        ],
      },
    ],
  });
  const bunJunit = `<testsuites><testsuite name="test/a.test.ts"><testcase name="b &amp; c" classname="hub" file="test/a.test.ts"><failure message="expected &quot;x&quot;" /></testcase><testcase name="ok" /></testsuite></testsuites>`;
  const total = tally([
    { name: "core", dir: pkg({ "vitest.json": r }), exitCode: 1 },
    { name: "bun", dir: pkg({ "bun.xml": bunJunit }), exitCode: 1 },
  ]);
  assert.deepEqual(total.failures, ["core: /x/f.test.ts > links relink: AssertionError: expected 1 to be 2", 'bun: test/a.test.ts > hub > b & c: expected "x"']);
  assert.equal(total.failed, 2);
  assert.deepEqual(tallyPackage({ name: "ok", dir: pkg({ "vitest.json": vitest({}) }), exitCode: 0 }).failures, []);
});
