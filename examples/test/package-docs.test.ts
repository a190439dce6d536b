// Docs that run, for the operations docs: every code block of docs/operations.md, docs/adopting.md and of the
// READMEs of @replic/snapshot-s3 and @replic/metrics-http runs (see block-runner.ts), against a
// real S3-compatible server (s3rver, loopback) reached through the AWS_* environment, as a user
// would configure it. Blocks that are plain text (layouts, CLI usage) are not code; ```sh is not run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3_CREDENTIALS, startS3, type S3Server } from "../../packages/snapshot-s3/test/helpers/s3.js";
import { repoRoot, runBlock } from "./block-runner.js";
import { codeBlocks, expectedOutput, printsInOrder } from "./code-blocks.js";

const docs = ["docs/operations.md", "docs/adopting.md", "packages/snapshot-s3/README.md", "packages/metrics-http/README.md"];
const work = mkdtempSync(join(tmpdir(), "replic-docs-"));
let s3: S3Server;

beforeAll(async () => {
  s3 = await startS3(["bucket", "my-bucket"]);
}, 60_000);
afterAll(async () => {
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

for (const doc of docs) {
  const blocks = codeBlocks(readFileSync(join(repoRoot, doc), "utf8"));
  const runnable = blocks.filter((b) => b.lang === "js" || b.lang === "ts");
  describe(doc, () => {
    it("every block is js, ts, sh or plain text, and there is code to run", () => {
      expect(blocks.filter((b) => !["js", "ts", "sh", ""].includes(b.lang)).map((b) => `line ${b.line}: ${b.lang}`)).toEqual([]);
      expect(runnable.length).toBeGreaterThan(0);
    });
    for (const b of runnable) {
      const how = `${b.lang === "js" ? "Node" : "Bun"}${b.prelude ? `, prelude ${b.prelude}` : ", as written"}`;
      it(`block at line ${b.line} runs (${how})`, async () => {
        const env = {
          AWS_ENDPOINT_URL: s3.endpoint,
          AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
          AWS_REGION: "us-east-1",
        };
        const res = await runBlock(b, work, { ports: { 9464: undefined, 9465: undefined }, env });
        expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
        for (const pieces of expectedOutput(b.code)) expect(printsInOrder(res.stdout, pieces), res.stdout).toBe(true);
      }, 40_000);
    }
  });
}
