#!/usr/bin/env node
// Reads a Stryker JSON report and prints the mutation score of every mutated file, one table row
// each; exits 1 when any file is below the goal (85 %, or the first argument). The score counts
// timed-out mutants as killed and equivalent survivors as survivors (docs/mutation/README.md
// lists them with the reason), as Stryker's own "covered" score does not: no-coverage counts too.
//   node scripts/mutation-score.mjs [goal] [report.json] [--survivors]
// --survivors also lists every surviving and uncovered mutant: file:line, mutator, replacement.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2).filter((a) => a !== "--survivors");
const survivors = process.argv.includes("--survivors");
const goal = Number(args[0] ?? 85);
const file = args[1] ?? new URL("../../../docs/mutation/mutation.json", import.meta.url).pathname;
const report = JSON.parse(readFileSync(file, "utf8"));

const rows = [];
for (const [name, { mutants }] of Object.entries(report.files)) {
  const n = (s) => mutants.filter((m) => m.status === s).length;
  const killed = n("Killed");
  const timeout = n("Timeout");
  const survived = n("Survived");
  const noCoverage = n("NoCoverage");
  const valid = killed + timeout + survived + noCoverage;
  const score = valid === 0 ? 100 : ((killed + timeout) / valid) * 100;
  rows.push({ name, killed, timeout, survived, noCoverage, score });
}
rows.sort((a, b) => a.name.localeCompare(b.name));

console.log("| file | score | killed | timed out | survived | no coverage |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| \`${r.name.replace(/^src\//, "")}\` | ${r.score.toFixed(2)} % | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} |`);
}
if (survivors) {
  console.log("\n| where | status | mutator | replacement |\n|---|---|---|---|");
  for (const [name, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
    for (const m of mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage").sort((a, b) => a.location.start.line - b.location.start.line)) {
      const replacement = String(m.replacement ?? "").replace(/\s+/g, " ").replaceAll("|", "\\|").slice(0, 70);
      console.log(`| ${name.replace(/^src\//, "")}:${m.location.start.line} | ${m.status} | ${m.mutatorName} | \`${replacement}\` |`);
    }
  }
  console.log("");
}
const below = rows.filter((r) => r.score < goal);
const lowest = rows.reduce((m, r) => Math.min(m, r.score), 100);
console.log(`mutation: ${rows.length} files, lowest ${lowest.toFixed(2)} %, ${below.length} below ${goal} %${below.length ? ": " + below.map((r) => r.name).join(", ") : ""}`);
process.exit(below.length > 0 || rows.length === 0 ? 1 : 0);
