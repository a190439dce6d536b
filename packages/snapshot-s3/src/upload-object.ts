/** Uploads a file as one object: a single PUT when small, else a multipart upload whose parts retry one by one. */
import { open, stat } from "node:fs/promises";
import { withRetry } from "./retry.js";
import type { S3Client } from "./s3-client.js";
import type { ProgressCallbacks } from "./progress.js";

export interface UploadObjectOptions extends ProgressCallbacks {
  /** Files above this size go multipart. Default 16 MiB. */
  multipartThreshold?: number;
  /** Part size (S3 needs ≥ 5 MiB except the last). Default 8 MiB. */
  partSize?: number;
}

async function readRange(path: string, start: number, length: number): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      const { bytesRead } = await fh.read(buf, off, length - off, start + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === length ? buf : buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

export async function uploadObject(client: S3Client, bucket: string, key: string, file: string, options: UploadObjectOptions = {}): Promise<void> {
  const size = (await stat(file)).size;
  const threshold = options.multipartThreshold ?? 16 * 1024 * 1024;
  const partSize = Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024);
  const policy = {
    retries: client.config.retries,
    baseMs: client.config.retryBaseMs,
    onRetry: (attempt: number, delayMs: number, error: unknown) => options.onRetry?.({ attempt, delayMs, error }),
  };
  options.onProgress?.({ phase: "upload", bytes: 0, total: size });
  if (size <= threshold) {
    const body = await readRange(file, 0, size);
    await withRetry(() => client.put(bucket, key, body), policy);
    options.onProgress?.({ phase: "upload", bytes: size, total: size });
    return;
  }
  const uploadId = await withRetry(() => client.createMultipart(bucket, key), policy);
  try {
    const etags: string[] = [];
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const body = await readRange(file, start, Math.min(partSize, size - start));
      etags.push(await withRetry(() => client.uploadPart(bucket, key, uploadId, n, body), policy));
      options.onProgress?.({ phase: "upload", bytes: start + body.length, total: size });
    }
    await withRetry(() => client.completeMultipart(bucket, key, uploadId, etags), policy);
  } catch (err) {
    // Best effort: an abandoned upload only costs storage until a lifecycle rule removes it.
    await client.abortMultipart(bucket, key, uploadId).catch(() => undefined);
    throw err;
  }
}
