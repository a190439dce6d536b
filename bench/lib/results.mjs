// Writing a bench's results: `<name>.json` (the whole document) and `<name>.md` (its report),
// the report echoed to stdout and both paths to stderr.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes `doc` and `report(doc)` under `dir` as `name`; returns the report. */
export function writeResults(dir, name, doc, report) {
  const base = join(dir, name);
  writeFileSync(`${base}.json`, JSON.stringify(doc, null, 1) + "\n");
  const md = report(doc);
  writeFileSync(`${base}.md`, md);
  console.log(md);
  process.stderr.write(`wrote ${base}.md and ${base}.json in ${doc.seconds} s\n`);
  return md;
}
