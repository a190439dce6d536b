/** `s3://bucket/prefix` parsing. Prefixes keep to S3's "safe characters" so keys never need escaping. */
import { SnapshotError } from "./errors.js";

export interface S3Location {
  bucket: string;
  /** No leading or trailing slash; may be "". */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9!_.*'()/-]*$/;

export function parseS3Url(url: string): S3Location {
  if (typeof url !== "string" || !url.startsWith("s3://")) {
    throw new SnapshotError("INVALID_OPTION", `not an s3:// URL: ${JSON.stringify(url)}`);
  }
  const rest = url.slice(5);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? "" : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, "");
  if (!BUCKET.test(bucket)) throw new SnapshotError("INVALID_OPTION", `invalid bucket name ${JSON.stringify(bucket)}`);
  if (!PREFIX.test(prefix) || prefix.includes("//") || prefix.split("/").some((s) => s === "." || s === "..")) {
    throw new SnapshotError("INVALID_OPTION", `prefix ${JSON.stringify(prefix)} may only use A-Z a-z 0-9 ! _ . * ' ( ) - and /`);
  }
  return { bucket, prefix };
}

/** Joins key parts under the location's prefix. */
export function keyOf(loc: S3Location, ...parts: string[]): string {
  return [loc.prefix, ...parts].filter((p) => p !== "").join("/");
}
