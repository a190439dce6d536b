/** `replic restore --from s3://bucket/prefix <db>`: the newest complete snapshot, verified, under a new peer id. */
import type { Command } from "commander";
import { bootstrapFromSnapshot } from "@replic/snapshot-s3";
import { CliError } from "../cli-error.js";
import { printJson, printPairs } from "../output.js";
import { progressBar } from "../progress-bar.js";
import { addS3Flags, s3Options } from "../s3-flags.js";

export function restoreCommand(program: Command): void {
  addS3Flags(
    program
      .command("restore")
      .description("restore the newest complete snapshot of any peer into <db> (atomically; it takes a new peer id)")
      .argument("<db>", "SQLite database file to create or replace (must be closed)")
      .requiredOption("--from <url>", "source, s3://bucket/prefix")
      .option("--force", "replace a database that holds data (a stale replica being re-seeded)")
      .option("--expect-schema-version <n>", "refuse a snapshot with another number of applied migrations", (v) => Number.parseInt(v, 10))
      .option("--json", "print the result as JSON"),
  ).action(async (path: string, opts: { from: string; force?: boolean; expectSchemaVersion?: number; json?: boolean; endpoint?: string; region?: string; retries?: number }) => {
    const bar = progressBar(!opts.json);
    try {
      const r = await bootstrapFromSnapshot(path, {
        ...s3Options(opts),
        from: opts.from,
        // Without --force a stale marker beside the database (markStaleOnEvent) still allows the restore.
        stale: opts.force ? true : undefined,
        expectSchemaVersion: opts.expectSchemaVersion,
        onProgress: bar.onProgress,
      });
      bar.stop();
      if (!r.restored) throw new CliError("HAS_DATA", `${path} holds data; pass --force to replace it with the snapshot`);
      const m = r.manifest!;
      if (opts.json) return printJson({ restored: true, path, peerId: r.peerId, bytes: r.bytes, durationMs: r.durationMs, manifest: m });
      printPairs([
        ["restored", path],
        ["snapshot", `${m.object} (${m.createdAt})`],
        ["taken by", `peer ${m.peerId}`],
        ["new peer id", r.peerId!],
        ["size", `${m.size} bytes gzip`],
      ]);
    } finally {
      bar.stop();
    }
  });
}
