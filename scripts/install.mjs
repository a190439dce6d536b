#!/usr/bin/env node
// The workspace install every top-level command starts with (npm test, npm run demo, ...):
// pnpm from npm at the version package.json names, the lockfile as committed, native modules
// built against the running Node's own headers when it has them (scripts/node-headers.mjs).
import { spawnSync } from "node:child_process";
import { withNodeHeaders } from "./node-headers.mjs";

const root = new URL("..", import.meta.url).pathname;
const r = spawnSync("npx", ["-y", "pnpm@9.15.9", "install", "--frozen-lockfile"], { cwd: root, stdio: "inherit", env: withNodeHeaders(process.env) });
process.exit(r.status ?? 1);
