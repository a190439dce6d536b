// Docs that run: every ```js block of this package's README runs with Node against a real
// nats-server (the README's default URL pointed at the test server's port).
import { afterAll, beforeAll } from "vitest";
import { fileURLToPath } from "node:url";
import { readmeBlocksSuite } from "@replic/conformance/readme-blocks";
import { NatsServer } from "./nats-server.js";

let nats: NatsServer;
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(() => nats.down());

readmeBlocksSuite({
  root: fileURLToPath(new URL("..", import.meta.url)),
  runtimes: { js: process.execPath },
  prints: /buy milk/,
  rewrite: (code) => code.replaceAll("nats://127.0.0.1:4222", nats.url),
});
