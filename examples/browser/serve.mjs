#!/usr/bin/env node
// npm run demo:browser: builds the app, starts the hub (data in .data/hub.db) and serves the app on
// 127.0.0.1 (PORT, default 5173). Open the printed URL in two windows and toggle "offline".
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { startDemo } from "./demo-server.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
await build({ configFile: `${here}vite.config.ts`, logLevel: "warn" });
mkdirSync(`${here}.data`, { recursive: true });
const demo = await startDemo({
  dist: `${here}dist`,
  dbPath: `${here}.data/hub.db`,
  port: Number(process.env.PORT ?? 5173),
});
console.log(`replic browser demo: ${demo.url}  (hub ${demo.hubUrl}, hub peer ${demo.replica.peerId}; Ctrl-C stops)`);
const stop = async () => {
  await demo.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
