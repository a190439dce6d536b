/** Streaming helpers: sha256 of a file, gzip with checksums on both sides, gunzip with a size cap. */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";

export interface Digest {
  size: number;
  sha256: string;
}

function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onChunk(chunk);
      cb(null, chunk);
    },
  });
}

export async function fileDigest(path: string): Promise<Digest> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: h.digest("hex") };
}

/** Gzips `src` into `dst`; returns the digests of the input and of the output. */
export async function gzipFile(src: string, dst: string, onBytes?: (read: number, total: number) => void): Promise<{ raw: Digest; gz: Digest }> {
  const total = (await stat(src)).size;
  const rawHash = createHash("sha256");
  const gzHash = createHash("sha256");
  let raw = 0;
  let gz = 0;
  await pipeline(
    createReadStream(src),
    tap((c) => {
      rawHash.update(c);
      raw += c.length;
      onBytes?.(raw, total);
    }),
    createGzip({ level: 6 }),
    tap((c) => {
      gzHash.update(c);
      gz += c.length;
    }),
    createWriteStream(dst),
  );
  return { raw: { size: raw, sha256: rawHash.digest("hex") }, gz: { size: gz, sha256: gzHash.digest("hex") } };
}

/** Gunzips `src` into `dst`, refusing output larger than `maxBytes`; returns the output digest. */
export async function gunzipFile(src: string, dst: string, maxBytes: number): Promise<Digest> {
  const h = createHash("sha256");
  let size = 0;
  await pipeline(
    createReadStream(src),
    createGunzip(),
    tap((c) => {
      size += c.length;
      if (size > maxBytes) throw new Error(`decompressed size exceeds ${maxBytes} bytes`);
      h.update(c);
    }),
    createWriteStream(dst),
  );
  return { size, sha256: h.digest("hex") };
}
