/** Streams an object into a file, checking its size and sha256 on the way. Retries from scratch on transient failures. */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { SnapshotError, TransientS3Error } from "./errors.js";
import type { ProgressCallbacks } from "./progress.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import type { S3Client } from "./s3-client.js";

export async function downloadObject(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
  expect: { size: number; sha256: string },
  policy: RetryPolicy,
  callbacks: ProgressCallbacks = {},
): Promise<void> {
  const actual = await withRetry(async () => {
    const res = await client.get(bucket, key);
    const fh = await open(file, "w");
    const h = createHash("sha256");
    let size = 0;
    try {
      if (!res.body) throw new TransientS3Error(`GET ${key}: empty body`);
      const reader = res.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw new TransientS3Error(`GET ${key}: ${(err as Error).message}`, { cause: err });
        }
        if (chunk.done) break;
        size += chunk.value.length;
        // A body longer than the manifest says is refused without writing it all to disk.
        if (size > expect.size) {
          await reader.cancel().catch(() => undefined);
          break;
        }
        h.update(chunk.value);
        await fh.write(chunk.value);
        callbacks.onProgress?.({ phase: "download", bytes: size, total: expect.size });
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { size, sha256: h.digest("hex") };
  }, policy);
  if (actual.size !== expect.size) {
    throw new SnapshotError("SNAPSHOT_CORRUPT", `snapshot ${key} has ${actual.size > expect.size ? "more than" : "only"} ${actual.size} bytes, the manifest says ${expect.size}`);
  }
  if (actual.sha256 !== expect.sha256) {
    throw new SnapshotError("SNAPSHOT_CORRUPT", `snapshot ${key}: sha256 mismatch (got ${actual.sha256}, manifest says ${expect.sha256})`);
  }
}
