/**
 * A small S3 client on aws4fetch (SigV4 signing), path-style addressing: the calls a snapshot
 * needs and nothing else. Failures come out typed: S3_AUTH, S3_NOT_FOUND, S3_REQUEST, or a
 * TransientS3Error (network, 5xx, 429) that callers retry with back-off.
 */
import { AwsClient } from "aws4fetch";
import { SnapshotError, TransientS3Error } from "./errors.js";
import type { S3Config } from "./s3-config.js";
import { escapeXml, parseListObjects, tagValue, type ListedObject } from "./s3-xml.js";

const AUTH_CODES = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken"]);

export class S3Client {
  private readonly aws: AwsClient;
  constructor(readonly config: S3Config) {
    const c = config.credentials;
    // Retries are ours (typed, with events); aws4fetch's own are switched off.
    this.aws = new AwsClient({ ...c, service: "s3", region: config.region, retries: 0 });
  }

  url(bucket: string, key = "", query = ""): string {
    const path = key === "" ? "" : "/" + key.split("/").map(encodeURIComponent).join("/");
    return `${this.config.endpoint}/${encodeURIComponent(bucket)}${path}${query ? "?" + query : ""}`;
  }

  /** One signed request; throws typed errors for non-2xx answers. */
  async request(method: string, url: string, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await this.aws.fetch(url, {
        method,
        body: body as BodyInit | undefined,
        headers,
        signal: AbortSignal.timeout(this.config.requestTimeoutMs),
      });
    } catch (err) {
      throw new TransientS3Error(`${method} ${url}: ${(err as Error).message ?? String(err)}`, { cause: err });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    const code = tagValue(text, "Code") ?? "";
    const what = `${method} ${url} -> ${res.status}${code ? " " + code : ""}`;
    if (res.status >= 500 || res.status === 429) throw new TransientS3Error(what, { status: res.status });
    if (res.status === 403 || AUTH_CODES.has(code)) throw new SnapshotError("S3_AUTH", `S3 refused the credentials (${what})`, { status: res.status });
    if (res.status === 404) {
      // HEAD answers carry no body: a 404 on the bucket URL itself means no bucket.
      const bucketUrl = method === "HEAD" || code === "NoSuchBucket";
      const which = bucketUrl ? "bucket does not exist" : "no such key";
      throw new SnapshotError("S3_NOT_FOUND", `${which} (${what})`, { status: res.status });
    }
    throw new SnapshotError("S3_REQUEST", `S3 refused the request (${what})`, { status: res.status });
  }

  async put(bucket: string, key: string, body: Uint8Array | string, contentType = "application/octet-stream"): Promise<void> {
    const res = await this.request("PUT", this.url(bucket, key), body, { "content-type": contentType });
    await res.arrayBuffer();
  }

  async getText(bucket: string, key: string): Promise<string> {
    const res = await this.request("GET", this.url(bucket, key));
    return res.text();
  }

  /** GET as a response whose body the caller streams. */
  async get(bucket: string, key: string): Promise<Response> {
    return this.request("GET", this.url(bucket, key));
  }

  async delete(bucket: string, key: string): Promise<void> {
    const res = await this.request("DELETE", this.url(bucket, key));
    await res.arrayBuffer();
  }

  /** Checks that the bucket exists and the credentials are accepted. */
  async headBucket(bucket: string): Promise<void> {
    const res = await this.request("HEAD", this.url(bucket));
    await res.arrayBuffer();
  }

  async list(bucket: string, prefix: string): Promise<ListedObject[]> {
    const all: ListedObject[] = [];
    let token: string | undefined;
    do {
      let q = `list-type=2&prefix=${encodeURIComponent(prefix)}`;
      if (token) q += `&continuation-token=${encodeURIComponent(token)}`;
      const res = await this.request("GET", this.url(bucket, "", q));
      const page = parseListObjects(await res.text());
      all.push(...page.objects);
      token = page.next;
    } while (token);
    return all;
  }

  async createMultipart(bucket: string, key: string): Promise<string> {
    const res = await this.request("POST", this.url(bucket, key, "uploads"), undefined, { "content-type": "application/octet-stream" });
    const id = tagValue(await res.text(), "UploadId");
    if (!id) throw new SnapshotError("S3_REQUEST", `no UploadId in the CreateMultipartUpload answer for ${key}`);
    return id;
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    const q = `partNumber=${partNumber}&uploadId=${encodeURIComponent(uploadId)}`;
    const res = await this.request("PUT", this.url(bucket, key, q), body);
    await res.arrayBuffer();
    const etag = res.headers.get("etag");
    if (!etag) throw new SnapshotError("S3_REQUEST", `no ETag for part ${partNumber} of ${key}`);
    return etag;
  }

  async completeMultipart(bucket: string, key: string, uploadId: string, etags: string[]): Promise<void> {
    const parts = etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(e)}</ETag></Part>`).join("");
    const body = `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;
    const res = await this.request("POST", this.url(bucket, key, `uploadId=${encodeURIComponent(uploadId)}`), body, { "content-type": "application/xml" });
    // S3 may answer 200 with an <Error> body when completion fails late.
    const text = await res.text();
    if (/<Error>/.test(text)) throw new TransientS3Error(`CompleteMultipartUpload of ${key} failed: ${tagValue(text, "Code") ?? "unknown"}`);
  }

  async abortMultipart(bucket: string, key: string, uploadId: string): Promise<void> {
    const res = await this.request("DELETE", this.url(bucket, key, `uploadId=${encodeURIComponent(uploadId)}`));
    await res.arrayBuffer();
  }
}
