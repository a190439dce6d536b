/** `replic snapshot <db> --to s3://bucket/prefix`: a consistent online snapshot, uploaded. */
import type { Command } from "commander";
import { snapshotToS3 } from "@replic/snapshot-s3";
import { openExisting } from "../open-db.js";
import { printJson, printPairs } from "../output.js";
import { progressBar } from "../progress-bar.js";
import { addS3Flags, s3Options } from "../s3-flags.js";

export function snapshotCommand(program: Command): void {
  addS3Flags(
    program
      .command("snapshot")
      .description("snapshot a (live) database and upload it under <prefix>/<peerId>/, manifest last")
      .argument("<db>", "SQLite database file")
      .requiredOption("--to <url>", "destination, s3://bucket/prefix")
      .option("--retain <n>", "keep this many of this peer's snapshots (0 keeps all)", (v) => Number.parseInt(v, 10), 3)
      .option("--json", "print the manifest as JSON"),
  ).action(async (path: string, opts: { to: string; retain: number; json?: boolean; endpoint?: string; region?: string; retries?: number }) => {
    const db = await openExisting(path);
    const bar = progressBar(!opts.json);
    try {
      const r = await snapshotToS3(db.driver, { ...s3Options(opts), to: opts.to, retain: opts.retain, onProgress: bar.onProgress });
      bar.stop();
      if (opts.json) return printJson({ key: r.manifestKey, pruned: r.pruned, durationMs: r.durationMs, manifest: r.manifest });
      printPairs([
        ["uploaded", `s3://${opts.to.slice(5).split("/")[0]}/${r.manifest.object}`],
        ["manifest", r.manifestKey],
        ["peer id", r.manifest.peerId],
        ["size", `${r.manifest.size} bytes gzip (${r.manifest.dbSize} bytes database)`],
        ["sha256", r.manifest.sha256],
        ["pruned", r.pruned],
      ]);
    } finally {
      bar.stop();
      db.close();
    }
  });
}
