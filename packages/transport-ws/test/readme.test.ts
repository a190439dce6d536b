// Docs that run: the README's ```js blocks run with Node and its ```ts blocks with Bun, from
// inside the package.
import { fileURLToPath } from "node:url";
import { BUN } from "@replic/conformance/peer-process";
import { readmeBlocksSuite } from "@replic/conformance/readme-blocks";

readmeBlocksSuite({ root: fileURLToPath(new URL("..", import.meta.url)), runtimes: { js: process.execPath, ts: BUN }, prints: /\S/ });
