/** Endpoint, region and credentials from options, else from the standard AWS environment. */
import { SnapshotError } from "./errors.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Options {
  /** e.g. http://127.0.0.1:4568 (path-style requests). Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS S3 of the region. */
  endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
  credentials?: S3Credentials;
  /** Attempts after the first one for network and 5xx failures. Default 5. */
  retries?: number;
  /** First back-off delay in ms (doubles, with jitter, up to 10 s). Default 200. */
  retryBaseMs?: number;
  /** Per-request timeout in ms. Default 60 000. */
  requestTimeoutMs?: number;
}

export interface S3Config {
  endpoint: string;
  region: string;
  credentials: S3Credentials;
  retries: number;
  retryBaseMs: number;
  requestTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

function processEnv(): Env {
  const p = (globalThis as { process?: { env?: Env } }).process;
  return p?.env ?? {};
}

export function resolveS3Config(options: S3Options = {}, env: Env = processEnv()): S3Config {
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpoint = (options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? `https://s3.${region}.amazonaws.com`).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(endpoint)) {
    throw new SnapshotError("INVALID_OPTION", `endpoint must be http(s)://host[:port] without a path, got ${JSON.stringify(endpoint)}`);
  }
  const credentials = options.credentials ?? credentialsFromEnv(env);
  if (!credentials || !credentials.accessKeyId || !credentials.secretAccessKey) {
    throw new SnapshotError("S3_AUTH", "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or pass credentials");
  }
  const retries = options.retries ?? 5;
  if (!Number.isInteger(retries) || retries < 0) throw new SnapshotError("INVALID_OPTION", "retries must be an integer >= 0");
  return {
    endpoint,
    region,
    credentials,
    retries,
    retryBaseMs: options.retryBaseMs ?? 200,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
  };
}

function credentialsFromEnv(env: Env): S3Credentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return env.AWS_SESSION_TOKEN ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN } : { accessKeyId, secretAccessKey };
}
