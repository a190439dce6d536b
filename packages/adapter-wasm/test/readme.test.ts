// Docs that run: every ```js block of this package's README runs with Node from inside the package.
import { fileURLToPath } from "node:url";
import { readmeBlocksSuite } from "@replic/conformance/readme-blocks";

readmeBlocksSuite({ root: fileURLToPath(new URL("..", import.meta.url)), runtimes: { js: process.execPath }, prints: /write docs/ });
