// Docs that run: every ```ts block of this package's README runs with Bun (this test's own
// runtime) from inside the package.
import { fileURLToPath } from "node:url";
import { readmeBlocksSuite } from "@replic/conformance/readme-blocks";

readmeBlocksSuite({ root: fileURLToPath(new URL("..", import.meta.url)), runtimes: { ts: process.execPath }, prints: /write docs/ });
