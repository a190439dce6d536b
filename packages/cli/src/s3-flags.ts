/** S3 options shared by `snapshot` and `restore`: flags over the standard AWS environment. */
import type { Command } from "commander";
import type { S3Options } from "@replic/snapshot-s3";

export function addS3Flags(cmd: Command): Command {
  return cmd
    .option("--endpoint <url>", "S3 endpoint, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, else AWS)")
    .option("--region <region>", "region used for signing (default: AWS_REGION, else us-east-1)")
    .option("--retries <n>", "retries of network and server errors, with back-off", (v) => Number.parseInt(v, 10));
}

export function s3Options(opts: { endpoint?: string; region?: string; retries?: number }): S3Options {
  const o: S3Options = {};
  if (opts.endpoint) o.endpoint = opts.endpoint;
  if (opts.region) o.region = opts.region;
  if (opts.retries !== undefined) o.retries = opts.retries;
  return o;
}
