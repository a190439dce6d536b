// Child-process entry: `node child.mjs '<config json>'` or `bun child.mjs '<config json>'`.
// Runs one workload on one binding and prints its result after a marker line on stdout.
import { emit, peakRss, runtime } from "./lib/proc.mjs";

const cfg = JSON.parse(process.argv[2]);
const log = (msg) => process.stderr.write(`  [${cfg.workload}/${cfg.binding ?? runtime}] ${msg}\n`);
try {
  const mod = await import(`./workloads/${cfg.workload}.mjs`);
  const result = await mod.run(cfg, log);
  emit({ ok: true, runtime, versions: process.versions, peakRss: peakRss(), ...result });
  process.exit(0);
} catch (e) {
  emit({ ok: false, runtime, error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
}
