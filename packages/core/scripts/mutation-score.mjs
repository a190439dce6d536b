#!/usr/bin/env node
// Reads a Stryker JSON report and prints the mutation score of every mutated file, one table row
// each; exits 1 when any file is below the goal (85 %, or the first argument). The score counts
// timed-out mutants as killed and equivalent survivors as survivors (docs/mutation/README.md
// lists them with the reason), as Stryker's own "covered" score does not: no-coverage counts too.
import { readFileSync } from "node:fs";

const goal = Number(process.argv[2] ?? 85);
const file = process.argv[3] ?? new URL("../../../docs/mutation/mutation.json", import.meta.url).pathname;
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
const below = rows.filter((r) => r.score < goal);
const lowest = rows.reduce((m, r) => Math.min(m, r.score), 100);
console.log(`mutation: ${rows.length} files, lowest ${lowest.toFixed(2)} %, ${below.length} below ${goal} %${below.length ? ": " + below.map((r) => r.name).join(", ") : ""}`);
process.exit(below.length > 0 || rows.length === 0 ? 1 : 0);
