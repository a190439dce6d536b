// The suite's one total line, computed from what each package's test runner left behind: its
// result files (vitest JSON, JUnit XML from bun test or node --test), its exit code and its
// console output. Kept apart from test-all.mjs so fixtures can check that nothing failing is
// ever counted as "0 failed" (scripts/test/total.test.mjs).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * One package's run: `dir` holds `test-results/`; `exitCode` is the runner's exit status (null
 * when it was killed by a signal, undefined when not known); `log` its console output.
 * Returns { passed, failed, skipped, problems[], failures[] }: every problem is also counted in
 * `failed`; `failures` names each failed test ("package: file > test: first line of the error"),
 * so the last lines of a long run say what failed even when only they are kept.
 */
export function tallyPackage({ name, dir, exitCode, log = "" }) {
  const t = { passed: 0, failed: 0, skipped: 0, problems: [], failures: [] };
  const failure = (where, message) => t.failures.push(`${name}: ${where}${firstLine(message) ? `: ${firstLine(message)}` : ""}`);
  const problem = (text) => {
    t.failed++;
    t.problems.push(`${name}: ${text}`);
  };
  const resultsDir = join(dir, "test-results");
  const files = existsSync(resultsDir) ? readdirSync(resultsDir).filter((f) => f.endsWith(".json") || f.endsWith(".xml")).sort() : [];
  for (const f of files) {
    const text = readFileSync(join(resultsDir, f), "utf8");
    try {
      if (f.endsWith(".json")) tallyVitest(JSON.parse(text), t, problem, failure);
      else tallyJunit(text, t, failure);
    } catch (e) {
      problem(`unreadable result file ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // bun test leaves files that fail to load (or throw between tests) out of its JUnit report;
  // it prints them, each under its "<file>:" header, as "# Unhandled error between tests".
  const errored = /^bun test v/m.test(log) ? unhandledErrorFiles(log) : [];
  for (const file of errored) problem(`${file} failed outside its tests (unhandled error between tests; see the log above)`);
  if (files.length === 0) {
    if (exitCode === 0) problem("the runner wrote no test results");
    else problem(`the runner ${exitCode === null ? "was killed" : `exited with code ${exitCode}`} before writing test results`);
  } else if (exitCode !== undefined && exitCode !== 0 && t.failed === 0) {
    problem(`the runner ${exitCode === null ? "was killed" : `exited with code ${exitCode}`} but its results show no failure`);
  }
  return t;
}

/** vitest's JSON reporter: failed tests, plus files and hooks that failed outside any test. */
function tallyVitest(r, t, problem, failure) {
  t.passed += r.numPassedTests ?? 0;
  t.skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  const failedTests = r.numFailedTests ?? 0;
  t.failed += failedTests;
  let fileFailures = 0;
  for (const file of r.testResults ?? []) {
    if (file.status !== "failed") continue;
    const failedInFile = (file.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failedInFile) failure(`${file.name} > ${a.fullName ?? a.title ?? "(unnamed test)"}`, a.failureMessages?.[0]);
    if (failedInFile.length === 0) {
      // A load error, a failing beforeAll/afterAll, an error thrown between tests.
      fileFailures++;
      const why = String(file.message ?? "").split("\n")[0] || "a hook or the file itself failed";
      problem(`${file.name} failed outside its tests: ${why}`);
    }
  }
  if (r.success === false && failedTests === 0 && fileFailures === 0) {
    problem(`vitest reports failure (${r.numFailedTestSuites ?? 0} failed suites) without a failed test: an unhandled error`);
  }
}

/** JUnit XML (bun test, node --test): count <testcase> elements and their outcomes. */
function tallyJunit(text, t, failure) {
  const cases = text.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
  for (const c of cases) {
    const bad = /<(?:failure|error)\b([^>]*)/.exec(c);
    if (bad) {
      t.failed++;
      const attr = (tag, key) => unescapeXml(new RegExp(`\\b${key}="([^"]*)"`).exec(tag)?.[1] ?? "");
      const head = /^<testcase\b[^>]*/.exec(c)[0];
      // bun test names the file and the describe (classname); node --test only the describe.
      const where = [attr(head, "file"), attr(head, "classname"), attr(head, "name")].filter(Boolean).join(" > ");
      failure(where || "(unnamed test)", attr(bad[1], "message"));
    } else if (/<skipped\b/.test(c)) t.skipped++;
    else t.passed++;
  }
}

function unescapeXml(s) {
  return s.replace(/&(lt|gt|quot|apos|amp|#(\d+));/g, (_, e, n) => (n ? String.fromCharCode(Number(n)) : { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" }[e]));
}

function firstLine(message) {
  const line = String(message ?? "").split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line.trim();
}

/** Test files bun's console output shows with an unhandled error (load errors included). */
export function unhandledErrorFiles(log) {
  const out = [];
  let file;
  for (const line of log.split(/\r?\n/)) {
    const header = /^(\S.*\.[cm]?[jt]sx?):$/.exec(line);
    if (header) file = header[1];
    else if (line.startsWith("# Unhandled error between tests")) out.push(file ?? "(unknown file)");
  }
  return out;
}

/** Sums packages; `runs` is an array of tallyPackage() arguments. */
export function tally(runs) {
  const total = { passed: 0, failed: 0, skipped: 0, problems: [], failures: [] };
  for (const run of runs) {
    const t = tallyPackage(run);
    total.passed += t.passed;
    total.failed += t.failed;
    total.skipped += t.skipped;
    total.problems.push(...t.problems);
    total.failures.push(...t.failures);
  }
  return total;
}

/**
 * Adds a check that is not a test runner (the core's mutation check) to `total`: a non-zero exit
 * counts as one failed, named in the problems; a pass adds nothing, as it is not a test.
 */
export function addCheck(total, { name, exitCode }) {
  if (exitCode === 0) return total;
  total.failed++;
  total.problems.push(`${name}: ${exitCode === null ? "was killed" : `exited with code ${exitCode}`} (see its output above)`);
  return total;
}

export function summaryLine(total) {
  return `replic: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`;
}
